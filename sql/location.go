package sql

import "time"

// Location returns the session time zone ('table.local-time-zone', UTC by
// default), in which a client shows the TIMESTAMP_LTZ values of results.
func (s *Session) Location() *time.Location { return s.location() }
