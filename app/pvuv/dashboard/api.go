package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// paramError is a bad request parameter; its message names it.
type paramError struct {
	name, value, want string
}

func (e *paramError) Error() string {
	return fmt.Sprintf("dashboard: parameter %q is %q: %s", e.name, e.value, e.want)
}

// The Unix ms of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the
// times RFC 3339 can write, and differences that never overflow.
const (
	minMillis = -62135596800000
	maxMillis = 253402300799999
)

// timeParam reads a time parameter in Unix ms; ok is false when it is
// absent.
func timeParam(r *http.Request, name string) (ms int64, ok bool, err error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	if strings.Trim(v, "0123456789") == "" || (v[0] == '-' && strings.Trim(v[1:], "0123456789") == "") {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < minMillis || ms > maxMillis {
			return 0, false, &paramError{name, v, "Unix milliseconds must lie in the years 0001 to 9999"}
		}
		return ms, true, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, false, &paramError{name, v, "want an RFC 3339 time (2026-11-24T07:40:00Z) or Unix milliseconds"}
	}
	return t.UnixMilli(), true, nil
}

// readContext bounds the Redis reads of a request.
func (d *Dashboard) readContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d.cfg.Timeout)
}

func (d *Dashboard) servePVUV(w http.ResponseWriter, r *http.Request) {
	to, ok, err := timeParam(r, "to")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !ok {
		to = time.Now().UnixMilli()
	}
	from, ok, err := timeParam(r, "from")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !ok {
		from = to - time.Hour.Milliseconds()
	}
	if from > to {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("dashboard: parameter \"from\" (%s) is after \"to\" (%s); give from <= to",
			formatMillis(from), formatMillis(to)))
		return
	}
	if to-from > d.cfg.MaxRange.Milliseconds() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("dashboard: parameter \"from\" (%s) is more than %v before \"to\" (%s), the longest range served; ask for a shorter range",
			formatMillis(from), d.cfg.MaxRange, formatMillis(to)))
		return
	}
	ctx, cancel := d.readContext(r)
	defer cancel()
	out, err := d.store.overview(ctx, from, to, d.cfg.MaxWindows)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.noteUp()
	writeJSON(w, http.StatusOK, out)
}

func (d *Dashboard) servePages(w http.ResponseWriter, r *http.Request) {
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, (&paramError{"limit", v, "want a whole number from 1 to 1000"}).Error())
			return
		}
		limit = n
	}
	start, given, err := timeParam(r, "window")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := d.readContext(r)
	defer cancel()
	if !given {
		var ok bool
		start, ok, err = d.store.latestStart(ctx)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if !ok {
			d.noteUp()
			writeJSON(w, http.StatusOK, Pages{Pages: []Page{}})
			return
		}
	}
	win, pages, err := d.store.pages(ctx, start, limit)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.noteUp()
	if win == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("dashboard: no window starts at %s (%d); GET /api/pvuv lists the windows",
			formatMillis(start), start))
		return
	}
	writeJSON(w, http.StatusOK, Pages{Window: win, Pages: pages})
}

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
