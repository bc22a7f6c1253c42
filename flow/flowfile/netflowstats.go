package flowfile

import (
	"github.com/vigil-ids/vigil/flow"
)

// unattributed names the exporter entry for decoder errors that belong to
// no exporter (those refused by the decoder's exporter bound).
const unattributed = "(unattributed)"

// netflowStats adds the decoder's own counters to s: options records per
// format, and every malformed or undecodable message, set or record per
// exporter, by the decoder's reason.
func (rd *Reader) netflowStats(s *Summary) {
	if rd.dec == nil {
		return
	}
	st := rd.dec.Stats()
	for _, es := range st.Exporters {
		addr := es.Exporter.Unmap()
		if len(es.Errors) > 0 {
			// Rejected before the version was known: name it as the
			// exporter's other entries are named.
			k := expKey{addr: addr, format: flow.FormatIPFIX}
			s.Exporters = mergeCounts(s.Exporters, exporterName(k), Counts{Malformed: es.Errors})
		}
		for _, ds := range es.Domains {
			k := expKey{addr: addr, format: versionFormat(ds.Version)}
			c := Counts{OptionsRecords: ds.OptionsRecords, Malformed: ds.Errors}
			s.Exporters = mergeCounts(s.Exporters, exporterName(k), c)
			if ds.OptionsRecords > 0 {
				s.Formats = mergeCounts(s.Formats, k.format.String(), Counts{OptionsRecords: ds.OptionsRecords})
			}
		}
	}
	if len(st.Errors) > 0 {
		s.Exporters = mergeCounts(s.Exporters, unattributed, Counts{Malformed: st.Errors})
	}
}
