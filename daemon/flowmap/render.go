package flowmap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// WriteJSON writes the map as indented JSON.
func (m *Map) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// maxLabels bounds the services, apps and users an edge label lists; the
// JSON has them all.
const maxLabels = 4

// WriteDOT writes the map as a Graphviz digraph: one cluster per zone,
// nodes shaped by kind, edges labelled with services, apps, users, flows
// and bytes, and coloured by verdict (red: something was denied, orange:
// something would have been, green: all allowed, grey: no verdict). The
// output depends only on the map.
func (m *Map) WriteDOT(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("digraph septa {\n")
	b.WriteString("\tgraph [rankdir=LR, fontname=\"sans-serif\", fontsize=11];\n")
	b.WriteString("\tnode [fontname=\"sans-serif\", fontsize=10, shape=box, style=rounded];\n")
	b.WriteString("\tedge [fontname=\"sans-serif\", fontsize=9];\n")
	var zones []string
	byZone := map[string][]Node{}
	for _, n := range m.Nodes {
		if _, ok := byZone[n.Zone]; !ok {
			zones = append(zones, n.Zone)
		}
		byZone[n.Zone] = append(byZone[n.Zone], n)
	}
	// Zones by name, the nodes in no zone last.
	slices.SortFunc(zones, func(a, b string) int {
		if (a == "") != (b == "") {
			return strings.Compare(b, a)
		}
		return strings.Compare(a, b)
	})
	for _, z := range zones {
		indent := "\t"
		if z != "" {
			fmt.Fprintf(&b, "\tsubgraph %s {\n\t\tlabel=%s;\n\t\tstyle=dashed;\n", dotQuote("cluster_zone_"+z), dotQuote("zone "+z))
			indent = "\t\t"
		}
		for _, n := range byZone[z] {
			fmt.Fprintf(&b, "%s%s [label=%s, shape=%s];\n", indent, dotQuote(n.ID), dotQuote(nodeLabel(n)), nodeShape(n.Kind))
		}
		if z != "" {
			b.WriteString("\t}\n")
		}
	}
	for _, e := range m.Edges {
		fmt.Fprintf(&b, "\t%s -> %s [label=%s, color=%s, fontcolor=%s];\n",
			dotQuote(e.From), dotQuote(e.To), dotQuote(edgeLabel(e)), edgeColor(e), edgeColor(e))
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func nodeShape(k Kind) string {
	switch k {
	case KindWorkload:
		return "box"
	case KindHost:
		return "box"
	case KindGroup:
		return "component"
	case KindZone:
		return "folder"
	}
	return "ellipse"
}

func nodeLabel(n Node) string {
	var b strings.Builder
	switch n.Kind {
	case KindWorkload:
		b.WriteString(strings.ReplaceAll(n.Name, ",", "\n"))
	default:
		b.WriteString(string(n.Kind) + " " + n.Name)
	}
	if len(n.Hosts) > 0 {
		b.WriteString("\n(" + list(n.Hosts, maxLabels) + ")")
	}
	return b.String()
}

func edgeLabel(e Edge) string {
	var lines []string
	names := func(cs []Count) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Name
		}
		return out
	}
	lines = append(lines, list(names(e.Services), maxLabels))
	if len(e.Apps) > 0 {
		lines = append(lines, "app "+list(names(e.Apps), maxLabels))
	}
	if len(e.Users) > 0 {
		lines = append(lines, "user "+list(names(e.Users), maxLabels))
	}
	flows := strconv.FormatUint(e.Flows, 10) + " flows, " + humanBytes(e.Bytes)
	if e.Flows == 1 {
		flows = "1 flow, " + humanBytes(e.Bytes)
	}
	var v []string
	if e.Verdicts.Deny > 0 {
		v = append(v, strconv.FormatUint(e.Verdicts.Deny, 10)+" denied")
	}
	if e.Verdicts.WouldDeny > 0 {
		v = append(v, strconv.FormatUint(e.Verdicts.WouldDeny, 10)+" would-deny")
	}
	if len(v) > 0 {
		flows += " (" + strings.Join(v, ", ") + ")"
	}
	return strings.Join(append(lines, flows), "\n")
}

func edgeColor(e Edge) string {
	switch {
	case e.Verdicts.Deny > 0:
		return "red3"
	case e.Verdicts.WouldDeny > 0:
		return "darkorange"
	case e.Verdicts.Allow > 0:
		return "darkgreen"
	}
	return "gray40"
}

// list joins up to max names and says how many more there are.
func list(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(" +%d", len(names)-max)
}

func humanBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for v := n / unit; v >= unit && exp < 4; v /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + "kMGTP"[exp:exp+1] + "B"
}

// dotQuote quotes a DOT ID: double quotes and backslashes escaped, line
// breaks as DOT's centred \n.
func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ErrNoGraphviz is returned by RenderSVG when Graphviz's dot is not
// installed.
var ErrNoGraphviz = errors.New("SVG needs Graphviz's dot command, which is not installed " +
	"(apt-get install graphviz, or dnf install graphviz); or write --format dot and render it elsewhere")

// RenderSVG renders DOT to SVG with Graphviz's dot.
func RenderSVG(ctx context.Context, dot []byte) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, ErrNoGraphviz
	}
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("flowmap: dot -Tsvg: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}
