//! Where a finding rests on our reading of the seeds rather than on their words (SPEC.md's "(choice)" items), it
//! says so, and names the `--config` setting that switches the choice when there is one: a vendor can then tell our
//! reading from the real system's.

use nppa_protocol::StatusCode;
use serde::Serialize;

/// One SPEC choice a finding depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The SPEC rule whose choice it is.
    pub rule: &'static str,
    /// What we chose.
    pub reading: &'static str,
    /// The `--config` setting that switches it, when it can be switched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<&'static str>,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "our reading of {} (a SPEC choice): {}", self.rule, self.reading)?;
        match self.setting {
            Some(setting) => write!(f, "; switch it with `{setting}` in --config"),
            None => f.write_str("; not switchable"),
        }
    }
}

/// The choice behind an errcode the mock answered, if it answers it by a choice.
pub fn behind(code: StatusCode) -> Option<Choice> {
    let choice = |rule, reading, setting| Some(Choice { rule, reading, setting });
    match code {
        StatusCode::NameIllegal => choice(
            "R-NAME",
            "a name is CJK ideographs with an optional · between parts",
            Some("rules.name_rule = \"any_script\""),
        ),
        StatusCode::AiInUse => choice(
            "R-CHK-3",
            "one ai namespace for all enterprises while a record is live",
            Some("rules.ai_namespace = \"per_game\""),
        ),
        StatusCode::ResourceLimit => {
            choice("SPEC §4 (2002)", "at most 10 000 000 live records per game", Some("rules.live_record_cap"))
        }
        StatusCode::ParamCheckError => {
            choice("SPEC §4 (1012)", "ai and name at most 32 characters, counted as characters, not bytes", None)
        }
        StatusCode::NoInvalid => choice("R-BEH-2", "a `no` repeated within a report is 3004", None),
        StatusCode::BehaviorTimeError => choice(
            "R-BEH-2",
            "each record judged on its own, `ot` (seconds) compared with `timestamps` in milliseconds",
            None,
        ),
        _ => None,
    }
}

/// R-RL-2: how long a 1006 blocks.
pub const BUSY_BLOCK: Choice = Choice {
    rule: "R-RL-2",
    reading: "a 1006 blocks the interface 60 s from the first 1006 (FAQ 103 can be read as: until the next minute)",
    setting: Some("server.quota_block = \"next_minute\""),
};

/// R-SIG-1 says every URL query parameter is signed; the seeds show POSTs with none. A POST that carries some (an
/// empty `ai=` left by a shared URL builder) is verified with them signed.
pub const POST_QUERY_SIGNED: Choice = Choice {
    rule: "R-SIG-1",
    reading:
        "the query parameters of a POST (an empty `ai=` too) are signed like a GET's; the seeds show POSTs without any",
    setting: None,
};

/// R-SIG-1 signs "the raw body exactly as sent (empty for GET)"; a GET that carries a body anyway is verified over it.
pub const GET_BODY_SIGNED: Choice = Choice {
    rule: "R-SIG-1",
    reading: "a GET that carries a body is verified over the body it carries; the seeds say only that a GET's is empty",
    setting: None,
};

/// R-HDR-1: the seed marks Content-Type required with a default value and names no error for its absence.
pub const CONTENT_TYPE_READ_AS_JSON: Choice = Choice {
    rule: "R-HDR-1",
    reading:
        "a POST without Content-Type (or with another) is read as JSON and answered; the real system may refuse it",
    setting: Some("rules.require_content_type = true"),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_setting_is_a_field_of_the_mock_configuration() {
        let settings = StatusCode::ALL
            .iter()
            .filter_map(|c| behind(*c))
            .chain([BUSY_BLOCK, CONTENT_TYPE_READ_AS_JSON])
            .filter_map(|c| c.setting);
        for setting in settings {
            let (path, value) = setting.split_once(" = ").unwrap_or((setting, ""));
            let (section, key) = path.split_once('.').expect("section.key");
            let mut config = serde_json::to_value(nppa_mockserver::Config::embedded_default()).expect("config");
            assert!(config[section].get(key).is_some(), "{setting}: the mock has no {path}");
            if !value.is_empty() {
                config[section][key] = serde_json::from_str(value).expect("a JSON value");
                let switched: Result<nppa_mockserver::Config, _> = serde_json::from_value(config);
                assert!(switched.is_ok(), "{setting} is not a value the mock reads: {switched:?}");
            }
        }
    }
}
