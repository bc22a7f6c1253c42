// Package netflow decodes NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX
// (RFC 7011) messages into normalised flow.Record values.
//
// One Decoder keeps the state of every exporter it has heard from: data and
// options templates per (exporter address, version, observation domain or
// source id), the sampling rates announced by options records, the system
// init time, and a bounded buffer of data sets that arrived before their
// template. A Decoder is not safe for concurrent use; a collector runs one
// per worker, and SO_REUSEPORT keeps each exporter on one socket so that its
// templates and data meet in the same Decoder.
//
// Templates are compiled once into a short list of field operations that
// name only the fields the record needs, at fixed offsets between
// variable-length fields, so that decoding a data record is a walk over a
// handful of big-endian loads into one reused flow.Record. In steady state
// the decoder makes no heap allocation.
//
// Nothing malformed is dropped silently: every message, set or record that
// cannot be decoded is counted per exporter and observation domain with a
// reason, and Stats renders the summary.
package netflow
