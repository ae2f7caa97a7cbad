//! R-AI: the game's identifier of one real-name request, at most 32 characters (FAQ 144).

/// Longest ai, in characters.
pub const MAX_AI_CHARS: usize = 32;

/// R-AI: 1 to 32 characters (counting characters, not bytes, is our reading).
pub fn is_valid(ai: &str) -> bool {
    !ai.is_empty() && ai.chars().count() <= MAX_AI_CHARS
}
