package main

import (
	"bufio"
	"io"
	"strings"
)

// fallbackSignatures stand in for Emerging Threats Open where the corpus
// is missing (CI's fresh machine): HTTP signatures of the shape ET Open's
// are, so that the signature configurations still load and inspect.
const fallbackSignatures = `alert http any any -> $HOME_NET any (msg:"SEPTA-BENCH traversal in URI"; flow:established,to_server; http.uri; content:"../"; sid:9100001; rev:1;)
alert http any any -> $HOME_NET any (msg:"SEPTA-BENCH shell in URI"; flow:established,to_server; http.uri; content:"/bin/sh"; nocase; sid:9100002; rev:1;)
alert http any any -> $HOME_NET any (msg:"SEPTA-BENCH scanner user agent"; flow:established,to_server; http.user_agent; content:"sqlmap"; nocase; sid:9100003; rev:1;)
alert http any any -> $HOME_NET any (msg:"SEPTA-BENCH PHP eval"; flow:established,to_server; http.request_body; content:"eval("; sid:9100004; rev:1;)
`

// ruleLines returns the enabled rules of a rules file: its lines that
// are neither empty nor comments (ET Open ships disabled rules commented
// out). Continuation lines (ending in a backslash) are joined.
func ruleLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var cont strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont.Len() > 0 {
			line = cont.String() + line
			cont.Reset()
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// firstRules returns the first n rules (all for n < 0 or n beyond them)
// as the text of a rules file.
func firstRules(rules []string, n int) string {
	if n < 0 || n > len(rules) {
		n = len(rules)
	}
	if n == 0 {
		return ""
	}
	return strings.Join(rules[:n], "\n") + "\n"
}
