package netflow

// Information element ids (IANA IPFIX registry; NetFlow v9 uses the same
// numbers for the fields it shares with IPFIX).
const (
	ieOctetDeltaCount          = 1
	iePacketDeltaCount         = 2
	ieProtocolIdentifier       = 4
	ieTCPControlBits           = 6
	ieSourceTransportPort      = 7
	ieSourceIPv4Address        = 8
	ieDestinationTransportPort = 11
	ieDestinationIPv4Address   = 12
	ieFlowEndSysUpTime         = 21
	ieFlowStartSysUpTime       = 22
	iePostOctetDeltaCount      = 23
	iePostPacketDeltaCount     = 24
	ieSourceIPv6Address        = 27
	ieDestinationIPv6Address   = 28
	ieICMPTypeCodeIPv4         = 32
	ieSamplingInterval         = 34
	ieSamplingAlgorithm        = 35
	ieSamplerID                = 48 // v9 FLOW_SAMPLER_ID
	ieSamplerMode              = 49 // v9 FLOW_SAMPLER_MODE
	ieSamplerRandomInterval    = 50 // v9 FLOW_SAMPLER_RANDOM_INTERVAL
	ieFlowDirection            = 61
	ieOctetTotalCount          = 85
	iePacketTotalCount         = 86
	ieICMPTypeCodeIPv6         = 139
	ieFlowStartSeconds         = 150
	ieFlowEndSeconds           = 151
	ieFlowStartMilliseconds    = 152
	ieFlowEndMilliseconds      = 153
	ieFlowStartMicroseconds    = 154
	ieFlowEndMicroseconds      = 155
	ieFlowStartNanoseconds     = 156
	ieFlowEndNanoseconds       = 157
	ieFlowStartDeltaMicros     = 158
	ieFlowEndDeltaMicros       = 159
	ieSystemInitTimeMillis     = 160
	iePostOctetTotalCount      = 171
	iePostPacketTotalCount     = 172
	ieICMPTypeIPv4             = 176
	ieICMPCodeIPv4             = 177
	ieICMPTypeIPv6             = 178
	ieICMPCodeIPv6             = 179
	ieUDPSourcePort            = 180
	ieUDPDestinationPort       = 181
	ieTCPSourcePort            = 182
	ieTCPDestinationPort       = 183
	ieBiflowDirection          = 239
	ieSelectorID               = 302
	ieSelectorAlgorithm        = 304
	ieSamplingPacketInterval   = 305
	ieSamplingPacketSpace      = 306
	ieSamplingSize             = 309
	ieSamplingPopulation       = 310
	ieSamplingProbability      = 311
	ieDataLinkFrameSize        = 312
	ieDataLinkFrameSection     = 315
	ieObservationTimeSeconds   = 322
	ieObservationTimeMillis    = 323
	ieObservationTimeMicros    = 324
	ieObservationTimeNanos     = 325
)

// penReverse is the private enterprise number of RFC 5103 reverse
// information elements: element N under this PEN is the reverse of IE N.
const penReverse = 29305

// variableLength is the field length that announces a variable-length
// encoding (RFC 7011 §7).
const variableLength = 0xffff

// Selector algorithms (IANA "Packet Selection Methods", RFC 5477).
const (
	algSystematicCount = 1
	algSystematicTime  = 2
	algRandomNOutOfN   = 3
	algUniformProb     = 4
)
