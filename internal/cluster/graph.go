package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Node is one line of a job graph description: an operator (or, with an
// empty Name, the job as a whole) and its attributes, in a fixed order.
// The planner describes every operator with everything that must be equal
// on every worker: its UID, kind, element type, inputs, explicit
// parallelism; the job line holds the max parallelism.
type Node struct {
	// Name names the operator in messages; it should be unique in the
	// graph (a repeated name is told apart by its position).
	Name  string
	Attrs []Attr
}

// Attr is one attribute of a Node, such as {"parallelism", "2"}.
type Attr struct{ Key, Value string }

// Describe returns the canonical text of a job graph, which a Worker
// carries as its Graph: one line per node, the quoted name followed by
// key="value" pairs. Equal inputs give equal text.
func Describe(nodes []Node) string {
	var b strings.Builder
	for _, n := range nodes {
		b.WriteString(strconv.Quote(n.Name))
		for _, a := range n.Attrs {
			b.WriteByte(' ')
			if simpleKey(a.Key) {
				b.WriteString(a.Key)
			} else {
				b.WriteString(strconv.Quote(a.Key))
			}
			b.WriteByte('=')
			b.WriteString(strconv.Quote(a.Value))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Fingerprint returns the fingerprint of a graph description: the first
// 16 bytes of its SHA-256, in hex.
func Fingerprint(desc string) string {
	sum := sha256.Sum256([]byte(desc))
	return hex.EncodeToString(sum[:16])
}

func simpleKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// parseGraph reads what Describe wrote; ok is false for any other text.
func parseGraph(desc string) (nodes []Node, ok bool) {
	for line := range strings.Lines(desc) {
		line = strings.TrimSuffix(line, "\n")
		name, rest, ok := unquotePrefix(line)
		if !ok {
			return nil, false
		}
		n := Node{Name: name}
		for rest != "" {
			if rest[0] != ' ' {
				return nil, false
			}
			rest = rest[1:]
			var key string
			if strings.HasPrefix(rest, `"`) {
				if key, rest, ok = unquotePrefix(rest); !ok {
					return nil, false
				}
			} else {
				i := strings.IndexByte(rest, '=')
				if i < 0 {
					return nil, false
				}
				key, rest = rest[:i], rest[i:]
			}
			if !strings.HasPrefix(rest, "=") {
				return nil, false
			}
			var value string
			if value, rest, ok = unquotePrefix(rest[1:]); !ok {
				return nil, false
			}
			n.Attrs = append(n.Attrs, Attr{key, value})
		}
		nodes = append(nodes, n)
	}
	return nodes, true
}

func unquotePrefix(s string) (v, rest string, ok bool) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", false
	}
	v, err = strconv.Unquote(q)
	return v, s[len(q):], err == nil
}

// maxDifferences bounds the differences a refusal names.
const maxDifferences = 5

// diffGraphs names the differences between two workers' graph
// descriptions, a of worker aID and b of worker bID, at most
// maxDifferences of them and then how many more. It is used only when the
// fingerprints differ, so it always returns something.
func diffGraphs(aID, a, bID, b string) string {
	na, okA := parseGraph(a)
	nb, okB := parseGraph(b)
	if !okA || !okB {
		return fmt.Sprintf("the job graphs differ (fingerprints of their descriptions: %s on worker %q, %s on worker %q)", Fingerprint(a), aID, Fingerprint(b), bID)
	}
	ka, kb := keyNodes(na), keyNodes(nb)
	var diffs []string
	for i, n := range na {
		m, ok := kb.find(ka.keys[i])
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s exists only on worker %q", nodeName(ka.keys[i]), aID))
			continue
		}
		diffs = append(diffs, diffAttrs(nodeName(ka.keys[i]), n.Attrs, m.Attrs, aID, bID)...)
	}
	for i := range nb {
		if _, ok := ka.find(kb.keys[i]); !ok {
			diffs = append(diffs, fmt.Sprintf("%s exists only on worker %q", nodeName(kb.keys[i]), bID))
		}
	}
	if len(diffs) == 0 {
		if a != b {
			return "the operators are the same but in another order"
		}
		return "the job graphs differ in something their descriptions do not show (their fingerprints differ)"
	}
	if len(diffs) > maxDifferences {
		more := len(diffs) - maxDifferences
		diffs = append(diffs[:maxDifferences], fmt.Sprintf("and %d more", more))
	}
	return strings.Join(diffs, "; ")
}

// diffAttrs names the attributes that differ between two versions of one
// node.
func diffAttrs(name string, a, b []Attr, aID, bID string) []string {
	value := func(attrs []Attr, key string) (string, bool) {
		for _, at := range attrs {
			if at.Key == key {
				return at.Value, true
			}
		}
		return "", false
	}
	show := func(v string, ok bool) string {
		if !ok {
			return "none"
		}
		return v
	}
	var diffs []string
	seen := map[string]bool{}
	for _, attrs := range [][]Attr{a, b} {
		for _, at := range attrs {
			if seen[at.Key] {
				continue
			}
			seen[at.Key] = true
			va, okA := value(a, at.Key)
			vb, okB := value(b, at.Key)
			if va != vb || okA != okB {
				diffs = append(diffs, fmt.Sprintf("%s of %s: %s on worker %q vs %s on worker %q", at.Key, name, show(va, okA), aID, show(vb, okB), bID))
			}
		}
	}
	if len(diffs) == 0 && !sameAttrs(a, b) {
		diffs = append(diffs, fmt.Sprintf("the attributes of %s are in another order", name))
	}
	return diffs
}

func sameAttrs(a, b []Attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// nodeKey identifies a node across two graphs: its name and, for a
// repeated name, which occurrence.
type nodeKey struct {
	name string
	nth  int
}

func nodeName(k nodeKey) string {
	if k.name == "" && k.nth == 0 {
		return "the job"
	}
	if k.nth == 0 {
		return fmt.Sprintf("operator %q", k.name)
	}
	return fmt.Sprintf("operator %q (occurrence %d)", k.name, k.nth+1)
}

type keyed struct {
	keys  []nodeKey
	nodes map[nodeKey]Node
}

func keyNodes(nodes []Node) keyed {
	k := keyed{keys: make([]nodeKey, len(nodes)), nodes: make(map[nodeKey]Node, len(nodes))}
	count := map[string]int{}
	for i, n := range nodes {
		key := nodeKey{n.Name, count[n.Name]}
		count[n.Name]++
		k.keys[i] = key
		k.nodes[key] = n
	}
	return k
}

func (k keyed) find(key nodeKey) (Node, bool) {
	n, ok := k.nodes[key]
	return n, ok
}
