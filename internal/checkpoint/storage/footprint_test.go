package storage

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWeirLeavesOutLargeSDKs: the weir binary, as built by default, links
// none of the SDKs that made a first build download a gigabyte of modules
// (native Google Cloud Storage and Azure Blob Storage take a build tag),
// and no module that only tests use.
func TestWeirLeavesOutLargeSDKs(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}",
		"github.com/weirstream/weir/cmd/weir").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	never := []string{
		// Large SDKs.
		"gocloud.dev", "github.com/aws/", "cloud.google.com/", "google.golang.org/api",
		"github.com/Azure/", "github.com/AzureAD/", "go.opentelemetry.io/",
		// Test-only modules.
		"github.com/johannesboyne/gofakes3", "github.com/chromedp/", "go.uber.org/goleak",
	}
	linked := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		for _, n := range never {
			if strings.HasPrefix(m, n) && !linked[m] {
				linked[m] = true
				t.Errorf("cmd/weir links %s", m)
			}
		}
	}
}
