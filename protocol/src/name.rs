//! R-NAME: 2–32 characters, CJK ideographs with optional `·` between parts (the default);
//! a looser mode accepts any letters, for operators whose users have non-Chinese names.

/// Longest name the interface accepts (spec field length 32, in characters).
pub const MAX_NAME_CHARS: usize = 32;

/// Which names pass R-NAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameRule {
    /// CJK ideographs, `·` allowed between parts (the default; the system checks mainland ID cards only).
    #[default]
    Cjk,
    /// Any alphabetic characters, with `·`, space or `-` between parts.
    AnyScript,
}

/// Middle dots seen in minority names: U+00B7 and the CJK variant U+30FB, and U+2022.
fn is_separator(c: char, rule: NameRule) -> bool {
    matches!(c, '·' | '・' | '•') || (rule == NameRule::AnyScript && matches!(c, ' ' | '-'))
}

fn is_cjk_ideograph(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2EBEF}' | '\u{30000}'..='\u{3134F}' | '\u{F900}'..='\u{FAFF}')
}

/// True when the name is over [`MAX_NAME_CHARS`] characters (a shape error, 1012, not 2005).
pub fn is_over_long(name: &str) -> bool {
    name.chars().count() > MAX_NAME_CHARS
}

/// Validates a name per R-NAME.
pub fn is_valid(name: &str, rule: NameRule) -> bool {
    let count = name.chars().count();
    if !(2..=MAX_NAME_CHARS).contains(&count) {
        return false;
    }
    let letter = |c: char| match rule {
        NameRule::Cjk => is_cjk_ideograph(c),
        NameRule::AnyScript => c.is_alphabetic(),
    };
    let mut previous_was_letter = false;
    for c in name.chars() {
        if letter(c) {
            previous_was_letter = true;
        } else if is_separator(c, rule) && previous_was_letter {
            previous_was_letter = false;
        } else {
            return false;
        }
    }
    previous_was_letter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_pass_and_others_fail() {
        assert!(is_valid("某一一", NameRule::Cjk));
        assert!(is_valid("买买提·艾力", NameRule::Cjk));
        assert!(!is_valid("某", NameRule::Cjk));
        assert!(!is_valid("·某某", NameRule::Cjk));
        assert!(!is_valid("某某·", NameRule::Cjk));
        assert!(!is_valid("某1", NameRule::Cjk));
        assert!(!is_valid("John Smith", NameRule::Cjk));
        assert!(is_valid("John Smith", NameRule::AnyScript));
        assert!(!is_valid(&"某".repeat(33), NameRule::Cjk));
        assert!(is_over_long(&"某".repeat(33)));
    }
}
