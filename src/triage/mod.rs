//! Working the tips. For now: routing a new tip to the unit that serves it.

pub mod evidence;
pub mod gate;
pub mod links;
pub mod messages;
pub mod reader;
pub mod routing;
pub mod search;
pub mod states;
pub mod work;
