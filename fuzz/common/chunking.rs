//! Piece lengths for feeding a body to a streaming parser in arbitrary pieces; shared by
//! the targets that check split invariance (`#[path]`-included, not a target itself).

/// Piece lengths summing to `len`, from a seed (xorshift): mostly small, sometimes large.
pub fn chunking(seed: u8, len: usize) -> Vec<usize> {
    let mut state = u32::from(seed).wrapping_mul(0x9E37_79B9) ^ 0x7F4A_7C15;
    let mut out = Vec::new();
    let mut total = 0;
    while total < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = match state % 8 {
            0 => 1,
            1..=5 => 1 + (state >> 8) as usize % 16,
            6 => 1 + (state >> 8) as usize % 512,
            _ => 1 + (state >> 8) as usize % 4096,
        };
        let size = size.min(len - total);
        out.push(size);
        total += size;
    }
    out
}
