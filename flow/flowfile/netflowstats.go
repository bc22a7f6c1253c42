package flowfile

// netflowStats adds the decoder's own counters to s.
func (rd *Reader) netflowStats(s *Summary) {}
