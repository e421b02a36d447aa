package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const savepointAbout = `Takes a savepoint of a running job through its HTTP API (weir pvuv --http
ADDR --checkpoint-dir DIR), and prints where it is. weir stop takes one and
then stops the job. Start the job from it again with --restore PATH, also
at another --parallelism. A job with a token (--http-token) needs the same
token here, from --http-token or $WEIR_HTTP_TOKEN; an https:// job is
verified with --ca or the system's roots.`

// runSavepoint serves 'weir savepoint' (stop false) and 'weir stop' (true).
func runSavepoint(stop bool) func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name, endpoint := "weir savepoint", "/api/savepoints"
	if stop {
		name, endpoint = "weir stop", "/api/stop"
	}
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		f := newFlagSet(name, name+" --job URL", savepointAbout, "")
		job := f.string("job", "http://127.0.0.1:8081", "URL", "the job's API address, as given to weir pvuv --http")
		timeout := f.duration("timeout", 10*time.Minute, "how long to wait for the savepoint")
		cf := addJobClientFlags(f)
		if code, ok := f.parse(args, stdout, stderr); !ok {
			return code
		}
		u, err := url.Parse(*job)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			f.problem("job", "%q is not an http:// or https:// address: write e.g. http://127.0.0.1:8081", *job)
		}
		cf.check(f)
		if code, ok := f.check(stderr); !ok {
			return code
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*job, "/")+endpoint, nil)
		cf.authorize(req)
		resp, err := cf.client.Do(req)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v: is the job running with --http %s?\n", name, err, u.Host)
			return exitFail
		}
		defer resp.Body.Close()
		var body struct{ Path, Error string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			fmt.Fprintf(stderr, "%s: %s answered %s without JSON: is it a weir job's API?\n", name, *job, resp.Status)
			return exitFail
		}
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(stderr, "%s: %s\n", name, body.Error)
			return exitFail
		}
		fmt.Fprintln(stdout, body.Path)
		return exitOK
	}
}
