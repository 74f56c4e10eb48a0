//! Lenient (de)serializers shared by the event types.

mod boolean;
mod gzip;
mod header;
mod list;
mod map;
mod number;
mod query;
mod time;
