//! Việt Nam's working days, and the due dates of dossiers counted in them.
//!
//! * [`lunar`]: the Vietnamese lunisolar calendar, computed from the astronomy at UTC+7 (Tết and the Hùng Kings'
//!   day are lunar dates).

pub mod lunar;

pub use lunar::{LunarDate, LunarMonth, FIRST_YEAR, LAST_YEAR};
