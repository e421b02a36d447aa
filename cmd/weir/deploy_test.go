package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// These tests keep deploy/kubernetes in step with the command line: the
// weir container of every workload there is run through weir pvuv's own
// flag checks, in this process, with its environment as Kubernetes would
// build it from the manifests.

// deployDir holds the Kubernetes manifests, from this package.
const deployDir = "../../deploy/kubernetes"

// podIP and podName stand for the downward API's values.
const (
	podIP   = "10.42.0.17"
	podName = "weir-pvuv-7d9c5b6f4-x8k2q"
)

// TestDeployManifestsRunWeir: every workload's weir container has a
// command line that weir pvuv accepts, every variable it references is
// defined, every key it takes from a ConfigMap or Secret exists, its
// ports, probes and Services agree with its flags, and kustomization.yaml
// lists every manifest of its directory.
func TestDeployManifestsRunWeir(t *testing.T) {
	m, err := loadManifests(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	workloads := m.workloads()
	if len(workloads) < 2 {
		t.Fatalf("%s: found %d workloads, want the Deployment and the StatefulSet", deployDir, len(workloads))
	}
	for _, w := range workloads {
		t.Run(w.name, func(t *testing.T) {
			c, problems := m.check(w)
			for _, p := range problems {
				t.Error(p)
			}
			if len(problems) > 0 {
				return
			}
			r := m.runPVUV(t, c)
			if r.code == exitUsage || strings.Contains(r.stderr, "Run 'weir pvuv -h'") {
				t.Fatalf("weir %s\nis refused (exit %d):\n%s", strings.Join(c.args, " "), r.code, r.stderr)
			}
			// Past every check, the worker opens its data port at the pod
			// IP, which this machine has not (or, if it has, its
			// checkpoint location, and finds the context cancelled).
			if !strings.Contains(r.stderr, "cluster: listen on "+podIP+":") && !strings.Contains(r.stderr, "context canceled") {
				t.Fatalf("weir %s\ndid not get as far as the cluster (exit %d):\n%s", strings.Join(c.args, " "), r.code, r.stderr)
			}
		})
	}
	for _, p := range m.checkKustomization() {
		t.Error(p)
	}
	// The StatefulSet is the Deployment's alternative: the same container.
	var pods [][]string
	for _, w := range workloads {
		pods = append(pods, []string{w.name, fmt.Sprint(w.container)})
	}
	for _, p := range pods[1:] {
		if p[1] != pods[0][1] {
			t.Errorf("the weir containers of %s and %s differ: keep them the same", pods[0][0], p[0])
		}
	}
}

// TestDeployCheckFindsDrift: the checks above catch a manifest that
// drifted from the command line, each with a message that says where.
func TestDeployCheckFindsDrift(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		want           string // in a problem, or in weir's refusal
	}{
		{"unknown flag", "--slots=2", "--slot=2", "--slot: no such flag"},
		{"bad value", "--session-timeout=10s", "--session-timeout=10", "--session-timeout"},
		{"undefined variable", "$(POD_IP):7700", "$(POD_ADDRESS):7700", "$(POD_ADDRESS)"},
		{"missing ConfigMap key", "key: REDIS_URL", "key: REDIS", `ConfigMap "weir-pvuv" has no key "REDIS"`},
		{"missing Secret key", "key: cluster-token", "key: token", `Secret "weir-pvuv" has no key "token"`},
		{"no token", "name: WEIR_CLUSTER_TOKEN", "name: CLUSTER_TOKEN", "$WEIR_CLUSTER_TOKEN"},
		{"advertised port", "containerPort: 7700", "containerPort: 7701", "--advertise"},
		{"probe port", "port: http\n            periodSeconds: 5", "port: 8081\n            periodSeconds: 5", "readinessProbe on port 8081"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := loadManifests(deployDir)
			if err != nil {
				t.Fatal(err)
			}
			src := m.files["deployment.yaml"]
			if !strings.Contains(src, c.old) {
				t.Fatalf("deployment.yaml lacks %q: update this test", c.old)
			}
			if err := m.replace("deployment.yaml", strings.Replace(src, c.old, c.new, 1)); err != nil {
				t.Fatal(err)
			}
			w := m.workloads()[0]
			ctr, problems := m.check(w)
			got := strings.Join(problems, "\n")
			if len(problems) == 0 {
				r := m.runPVUV(t, ctr)
				got = r.stderr
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("with %q in place of %q: want a problem naming %q, got:\n%s", c.new, c.old, c.want, got)
			}
		})
	}
}

// manifests are the parsed YAML documents of a directory and its
// subdirectories, by file name relative to it.
type manifests struct {
	dir   string
	files map[string]string           // the text
	docs  map[string][]map[string]any // the documents
}

func loadManifests(dir string) (*manifests, error) {
	m := &manifests{dir: dir, files: map[string]string{}, docs: map[string][]map[string]any{}}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		return m.replace(filepath.ToSlash(rel), string(b))
	})
	if err != nil {
		return nil, err
	}
	if len(m.files) == 0 {
		return nil, fmt.Errorf("%s: no manifests", dir)
	}
	return m, nil
}

// replace sets the text of the file name and parses it.
func (m *manifests) replace(name, text string) error {
	docs, err := parseYAML(text)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	m.files[name], m.docs[name] = text, docs
	return nil
}

// object finds the object of kind and name.
func (m *manifests) object(kind, name string) map[string]any {
	for _, file := range slices.Sorted(maps.Keys(m.docs)) {
		for _, d := range m.docs[file] {
			if str(d, "kind") == kind && str(d, "metadata", "name") == name {
				return d
			}
		}
	}
	return nil
}

// workload is a Deployment or StatefulSet and its weir container.
type workload struct {
	name      string // "deployment.yaml: Deployment weir-pvuv"
	obj       map[string]any
	container map[string]any
}

func (m *manifests) workloads() []workload {
	var out []workload
	for _, file := range slices.Sorted(maps.Keys(m.docs)) {
		for _, d := range m.docs[file] {
			kind := str(d, "kind")
			if kind != "Deployment" && kind != "StatefulSet" {
				continue
			}
			w := workload{name: file + ": " + kind + " " + str(d, "metadata", "name"), obj: d}
			for _, c := range list(d, "spec", "template", "spec", "containers") {
				if c, ok := c.(map[string]any); ok && str(c, "name") == "weir" {
					w.container = c
				}
			}
			out = append(out, w)
		}
	}
	return out
}

// containerRun is a container's command line and environment as the
// kubelet would start it.
type containerRun struct {
	args []string          // after the program: "pvuv", "--source=..."
	env  map[string]string // the variables the container gets
}

// check resolves the weir container of w and reports every problem with
// it that needs no run of weir.
func (m *manifests) check(w workload) (containerRun, []string) {
	var problems []string
	problem := func(format string, args ...any) {
		problems = append(problems, w.name+": "+fmt.Sprintf(format, args...))
	}
	c := w.container
	if c == nil {
		problem("no container named weir")
		return containerRun{}, problems
	}
	run := containerRun{env: map[string]string{}}
	for _, e := range list(c, "env") {
		e, _ := e.(map[string]any)
		name := str(e, "name")
		if v, ok := e["value"].(string); ok {
			run.env[name] = expandK8s(v, run.env, func(ref string) { problem("env %s references $(%s), which is not defined before it", name, ref) })
			continue
		}
		if f := str(e, "valueFrom", "fieldRef", "fieldPath"); f != "" {
			switch f {
			case "status.podIP":
				run.env[name] = podIP
			case "metadata.name":
				run.env[name] = podName
			default:
				problem("env %s: fieldRef %s: this test knows status.podIP and metadata.name only", name, f)
			}
			continue
		}
		found := false
		for _, ref := range []struct{ kind, field, data string }{{"ConfigMap", "configMapKeyRef", "data"}, {"Secret", "secretKeyRef", "stringData"}} {
			r, ok := get(e, "valueFrom", ref.field).(map[string]any)
			if !ok {
				continue
			}
			found = true
			obj := m.object(ref.kind, str(r, "name"))
			if obj == nil {
				problem("env %s: no %s %q in the manifests", name, ref.kind, str(r, "name"))
				break
			}
			v, ok := get(obj, ref.data, str(r, "key")).(string)
			if b64, isData := get(obj, "data", str(r, "key")).(string); ref.kind == "Secret" && !ok && isData {
				d, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					problem("env %s: Secret %q: key %q is not base64", name, str(r, "name"), str(r, "key"))
				}
				v, ok = string(d), true
			}
			switch {
			case ok:
				run.env[name] = v
			case str(r, "optional") != "true":
				problem("env %s: %s %q has no key %q", name, ref.kind, str(r, "name"), str(r, "key"))
			}
		}
		if !found {
			problem("env %s: no value this test understands", name)
		}
	}

	cmd := stringList(c, "command")
	args := stringList(c, "args")
	if entry := dockerEntrypoint(filepath.Join(m.dir, "../../Dockerfile")); !slices.Equal(cmd, entry) {
		problem("command %q is not the image's ENTRYPOINT %q (Dockerfile)", cmd, entry)
	}
	for _, a := range args {
		run.args = append(run.args, expandK8s(a, run.env, func(ref string) {
			problem("args: %q references $(%s), which the container's env does not define", a, ref)
		}))
	}
	if len(run.args) == 0 || run.args[0] != "pvuv" {
		problem("args %q: want weir pvuv", run.args)
		return run, problems
	}

	// The ports the flags name are the container's, and the probes and
	// Services use them.
	ports := map[string]string{}
	for _, p := range list(c, "ports") {
		p, _ := p.(map[string]any)
		ports[str(p, "name")] = str(p, "containerPort")
	}
	if _, port, err := net.SplitHostPort(flagValue(run.args, "advertise")); err != nil || port != ports["data"] {
		problem("--advertise %q: its port is not the container port named data (%s)", flagValue(run.args, "advertise"), ports["data"])
	}
	if _, port, err := net.SplitHostPort(flagValue(run.args, "http")); err != nil || port != ports["http"] {
		problem("--http %q: its port is not the container port named http (%s)", flagValue(run.args, "http"), ports["http"])
	}
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		p := str(c, probe, "httpGet", "port")
		if p == "" {
			problem("no %s on the HTTP API", probe)
		} else if p != "http" && p != ports["http"] {
			problem("%s on port %s, not the container port named http", probe, p)
		}
		if path := str(c, probe, "httpGet", "path"); path != "/healthz" && path != "/readyz" {
			problem("%s on %q: probes need /healthz or /readyz, which answer without the token", probe, path)
		}
	}
	for _, file := range slices.Sorted(maps.Keys(m.docs)) {
		for _, d := range m.docs[file] {
			if str(d, "kind") != "Service" {
				continue
			}
			for _, p := range list(d, "spec", "ports") {
				p, _ := p.(map[string]any)
				if tp := str(p, "targetPort"); ports[tp] == "" && !slices.Contains(slices.Collect(maps.Values(ports)), tp) {
					problem("Service %s: targetPort %s is no port of the container", str(d, "metadata", "name"), tp)
				}
			}
		}
	}
	return run, problems
}

// runPVUV runs weir with the container's command line and environment in
// this process and returns what it did. The context is cancelled at once:
// a command line weir accepts stops before the job starts, without
// touching the brokers or the bucket. --http listens on a free port of
// the address the manifests give (beyond loopback: the token rules apply).
func (m *manifests) runPVUV(t *testing.T, c containerRun) result {
	t.Helper()
	// Only what the manifests give: not this process's secrets.
	for _, k := range []string{tokenEnv, httpTokenEnv, "WEIR_KAFKA_PASSWORD"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range c.env {
		t.Setenv(k, v)
	}
	args := slices.Clone(c.args)
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--http="); ok {
			if host, _, err := net.SplitHostPort(v); err == nil {
				args[i] = "--http=" + net.JoinHostPort(host, "0")
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// checkKustomization reports the resources kustomization.yaml lists that
// do not exist, and the manifests beside it that it does not list.
func (m *manifests) checkKustomization() []string {
	docs := m.docs["kustomization.yaml"]
	if len(docs) != 1 {
		return []string{"kustomization.yaml: missing"}
	}
	var problems []string
	listed := map[string]bool{}
	for _, r := range list(docs[0], "resources") {
		r, _ := r.(string)
		listed[r] = true
		if _, ok := m.files[r]; !ok {
			problems = append(problems, fmt.Sprintf("kustomization.yaml: resource %s does not exist", r))
		}
	}
	for name := range m.files {
		if !strings.Contains(name, "/") && name != "kustomization.yaml" && !listed[name] {
			problems = append(problems, fmt.Sprintf("kustomization.yaml does not list %s: list it, or move it to extras/", name))
		}
	}
	return problems
}

// k8sVarRef matches what Kubernetes expands in command, args and env
// values: $$ (a literal $) and $(NAME).
var k8sVarRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandK8s expands s as the kubelet does. Kubernetes leaves a reference
// to an undefined variable as it is, which weir would then read as part of
// an address or URL: undefined is told about each one.
func expandK8s(s string, env map[string]string, undefined func(name string)) string {
	return k8sVarRef.ReplaceAllStringFunc(s, func(ref string) string {
		if ref == "$$" {
			return "$"
		}
		name := ref[2 : len(ref)-1]
		v, ok := env[name]
		if !ok {
			undefined(name)
			return ref
		}
		return v
	})
}

// flagValue returns the value of --name=VALUE in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// dockerEntrypoint returns the exec-form ENTRYPOINT of a Dockerfile.
func dockerEntrypoint(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var entry []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "ENTRYPOINT "); ok {
			entry = nil
			for _, f := range strings.Split(strings.Trim(strings.TrimSpace(rest), "[]"), ",") {
				s, err := strconv.Unquote(strings.TrimSpace(f))
				if err != nil {
					return nil
				}
				entry = append(entry, s)
			}
		}
	}
	return entry
}

// get walks maps by keys; nil where a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

func stringList(v any, keys ...string) []string {
	var out []string
	for _, e := range list(v, keys...) {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// parseYAML parses the subset of YAML the manifests are written in:
// documents separated by ---, block mappings and sequences, plain and
// quoted scalars (all kept as strings), {} and [], and comments. Anything
// else (flow collections with content, block scalars, anchors, tags,
// tabs) is an error rather than a guess, so that the checks above never
// read a manifest other than Kubernetes does.
func parseYAML(text string) ([]map[string]any, error) {
	var docs []map[string]any
	var lines []yamlLine
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		p := &yamlParser{lines: lines}
		v, err := p.block(lines[0].indent)
		if err != nil {
			return err
		}
		if p.i < len(p.lines) {
			return fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].n)
		}
		doc, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: a document must be a mapping", lines[0].n)
		}
		docs = append(docs, doc)
		lines = nil
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		if strings.TrimRight(raw, " ") == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		content := stripComment(raw)
		if strings.TrimSpace(content) == "" {
			continue
		}
		trimmed := strings.TrimLeft(content, " ")
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: a tab indents it; use spaces", i+1)
		}
		lines = append(lines, yamlLine{n: i + 1, indent: len(content) - len(trimmed), text: strings.TrimRight(trimmed, " ")})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

type yamlLine struct {
	n, indent int
	text      string
}

type yamlParser struct {
	lines []yamlLine
	i     int
}

// stripComment removes a comment: # at the start or after a space,
// outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

// block parses the mapping or sequence whose lines start at indent.
func (p *yamlParser) block(indent int) (any, error) {
	first := p.lines[p.i]
	if first.text == "-" || strings.HasPrefix(first.text, "- ") {
		var seq []any
		for p.i < len(p.lines) && p.lines[p.i].indent == indent && (p.lines[p.i].text == "-" || strings.HasPrefix(p.lines[p.i].text, "- ")) {
			l := p.lines[p.i]
			rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
			if rest == "" {
				p.i++
				if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
					return nil, fmt.Errorf("line %d: an empty sequence item", l.n)
				}
				v, err := p.block(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				seq = append(seq, v)
				continue
			}
			// The item's content is a line of its own, indented past the
			// dash: a scalar, or the first key of a mapping.
			p.lines[p.i] = yamlLine{n: l.n, indent: l.indent + len(l.text) - len(rest), text: rest}
			if _, _, isKey, err := splitKey(rest); err != nil {
				return nil, fmt.Errorf("line %d: %w", l.n, err)
			} else if isKey {
				v, err := p.block(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				seq = append(seq, v)
				continue
			}
			v, err := scalar(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", l.n, err)
			}
			seq = append(seq, v)
			p.i++
		}
		return seq, nil
	}
	m := map[string]any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent {
		l := p.lines[p.i]
		key, value, isKey, err := splitKey(l.text)
		if err != nil || !isKey {
			return nil, fmt.Errorf("line %d: want key: value, got %q", l.n, l.text)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: key %q again", l.n, key)
		}
		p.i++
		if value != "" {
			if m[key], err = scalar(value); err != nil {
				return nil, fmt.Errorf("line %d: %w", l.n, err)
			}
			continue
		}
		next := p.i < len(p.lines)
		switch {
		case next && p.lines[p.i].indent > indent:
			m[key], err = p.block(p.lines[p.i].indent)
		case next && p.lines[p.i].indent == indent && strings.HasPrefix(p.lines[p.i].text, "- "):
			m[key], err = p.block(indent) // a sequence may sit at its key's indentation
		default:
			m[key] = "" // null
		}
		if err != nil {
			return nil, err
		}
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > indent {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].n)
	}
	return m, nil
}

// splitKey splits "key: value" (or "key:"); isKey is false for a line
// that is a scalar.
func splitKey(s string) (key, value string, isKey bool, err error) {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		return "", "", false, nil // a quoted scalar; quoted keys are not used
	}
	i := strings.Index(s, ": ")
	if i < 0 {
		if !strings.HasSuffix(s, ":") {
			return "", "", false, nil
		}
		i = len(s) - 1
	}
	key = s[:i]
	if strings.ContainsAny(key, "{}[]&*!|>") {
		return "", "", false, fmt.Errorf("unsupported YAML in %q", s)
	}
	return key, strings.TrimSpace(s[i+1:]), true, nil
}

// scalar parses a value: quoted, plain, or the empty {} and [].
func scalar(s string) (any, error) {
	switch {
	case s == "{}":
		return map[string]any{}, nil
	case s == "[]":
		return []any{}, nil
	case strings.HasPrefix(s, `"`):
		return strconv.Unquote(s)
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("unterminated quote in %s", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.ContainsAny(s[:1], "{[&*!|>%@`"):
		return nil, fmt.Errorf("unsupported YAML in %q: write it in block style, plain or quoted", s)
	}
	return s, nil
}
