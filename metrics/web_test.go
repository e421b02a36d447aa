package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weirstream/weir/web"
)

// webJob is a fakeJob that web.Handler accepts.
type webJob struct{ *fakeJob }

func (webJob) TriggerSavepoint(context.Context) (string, error)  { return "", errors.New("no") }
func (webJob) StopWithSavepoint(context.Context) (string, error) { return "", errors.New("no") }

// TestWebServesMetrics checks that every job's HTTP API has GET /metrics.
func TestWebServesMetrics(t *testing.T) {
	rec := httptest.NewRecorder()
	web.Handler(webJob{everything()}, web.Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `weir_records_in_total{job="j",operator="map",subtask="0"} 3`) {
		t.Fatalf("GET /metrics of web.Handler: %d\n%s", rec.Code, rec.Body)
	}
}
