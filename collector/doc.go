// Package collector receives NetFlow and IPFIX datagrams over UDP and hands
// the decoded flow records to the rest of the service.
//
// Receiving datagrams is urgent work: a datagram that is not read before the
// socket's receive buffer fills is lost for good, and the kernel only counts
// it. So each listening port is served by several workers, each with its own
// socket bound to the same port with SO_REUSEPORT, its own large receive
// buffer, its own netflow.Decoder and its own flow.Handler. The kernel
// spreads datagrams over the sockets by a hash of the 4-tuple, so all
// datagrams of one exporter (one source address and port) reach the same
// worker, and its templates stay in that worker's decoder.
//
// Counters per exporter (datagrams, records, errors by reason, last seen)
// are taken from each worker's decoder by the worker itself at a regular
// interval, so the hot path shares no memory between workers, and are
// exported as Prometheus metrics with the listener and the exporter address
// as labels. Kernel drops come from the SO_RXQ_OVFL ancillary data of every
// datagram and from the drops column of /proc/net/udp for each socket.
package collector
