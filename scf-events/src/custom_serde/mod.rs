//! Lenient (de)serializers shared by the event types, usable on your own types too.
//!
//! The platform's JSON is irregular: numbers arrive as strings, booleans as `"true"`, query values as
//! a string, an array or `true`. Each helper here accepts every form seen for one kind of field and,
//! where the form matters, keeps it so that serialising reproduces the input.
//!
//! | Module | Accepts | Used by |
//! |---|---|---|
//! | [`boolean`] | `true`, `"true"`, `"TRUE"`, `null`, absent | request `isBase64Encoded` (API Gateway, CLB) |
//! | [`header`] | `"v"`, `["v1","v2"]` | integrated-response `headers` |
//! | [`map`] | `null` or an object | every map field |
//! | [`query`] | `"v"`, `["v1","v2"]`, `true` | API Gateway / Function URL `queryString` |
//! | [`number`] | `123`, `"123"` | CMQ `topicOwner`, EventBridge `time`, TDMQ fields |
//! | [`list`] | `"a,b"`, `"a, b"`, `["a","b"]`, `""`, `null` | CMQ `msgTag` |
//! | [`gzip`] | base64 of gzip JSON | CLS `clslogs.data` |
//! | [`time`] | the timestamp forms of each trigger | COS, CMQ, CLS, EventBridge, CLB, Timer |

pub mod boolean;
pub mod gzip;
pub mod header;
pub mod list;
pub mod map;
pub mod number;
pub mod query;
pub mod time;
