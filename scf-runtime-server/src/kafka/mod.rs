//! CKafka trigger consumer.
