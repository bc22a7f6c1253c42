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
// variable-length fields; fixed-length templates of the usual flow fields
// get a direct layout. Decoding a data record is then a handful of
// big-endian loads into one reused flow.Record, and in steady state the
// decoder makes no heap allocation.
//
// # Template lifetime
//
// Over UDP a template expires when it has not been refreshed for
// Config.TemplateTimeout, and withdrawals are counted and ignored, as RFC
// 7011 §8 asks. Over TCP, SCTP and files a template lives until it is
// withdrawn (field count 0, or template id 2 or 3 for all of a kind). A data
// set whose template is unknown is copied into a bounded buffer (by count,
// bytes and age) and decoded when the template arrives, even later in the
// same message; what is evicted, expires or remains at Flush is counted as
// undecodable.
//
// # How fields become a Record
//
//   - Addresses are IEs 8/12 or 27/28; post-NAT addresses (225-228) are not
//     the flow's. When an element occurs more than once (outer and inner
//     headers of a tunnel), the last occurrence, the innermost header, wins.
//     A packet report that carries dataLinkFrameSection (315) instead of
//     addresses takes its key from the frame (one packet of
//     dataLinkFrameSize bytes).
//   - Counters prefer delta (1/2) over total (85/86) over post counts
//     (23/24, 171/172); FlagDeltaCounters says which. Reduced-size encoding
//     is accepted for every unsigned integer.
//   - Times come from the finest of IEs 150-157 (the micro- and nanosecond
//     ones in NTP format), 158/159 (microseconds before the export time) or
//     21/22 (sysUpTime milliseconds), made absolute with the record's or the
//     domain's systemInitTimeMilliseconds (IE 160, often sent in options
//     data) or, in NetFlow v9 and v5, the header's sysUpTime and export
//     time. Records with no flow time use observationTime* (322-325), else
//     the export time; IPFIX uptime-relative times with no init time known
//     also fall back to the export time and are counted.
//   - For ICMP, when both ports are zero, the type and code (IEs 32/139 or
//     176-179) go to DstPort as type<<8|code, as nfdump does.
//   - The ObsDomain of NetFlow v5 records is engine type<<8 | engine id.
//
// # Biflows
//
// An RFC 5103 biflow (reverse elements under PEN 29305) gives its forward
// record, then a reverse record with swapped endpoints and FlagReverse only
// when a reverse counter is non-zero. IE 239 (biflowDirection) is kept on
// both, so that it keeps describing each record's own endpoints: on the
// reverse record BiflowInitiator and BiflowReverseInitiator are swapped,
// while BiflowArbitrary and BiflowPerimeter are kept as exported (with
// FlagReverse, the exported source is the record's destination).
//
// # Sampling
//
// The rate of a record comes from its own sampling fields (34, 50,
// 305/306, 309/310, 311, chosen by selectorAlgorithm 304 when present),
// else from the options record announcing its sampler or selector id (48 or
// 302) in the same exporter and domain, else from options data that
// announce a rate without a sampler id, else from
// Config.DefaultSamplingRate. Otherwise SamplingRate is 0 (unknown) and the
// record is counted. A NetFlow v5 header interval of 0 means unsampled
// (rate 1) unless a default is configured for the exporter.
//
// Nothing malformed is dropped silently: every message, set or record that
// cannot be decoded is counted per exporter and observation domain with a
// reason, and Stats renders the summary.
package netflow
