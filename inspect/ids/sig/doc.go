// Package sig is septa's built-in signature engine: it parses Suricata
// rules, builds an immutable engine from them, and matches packets,
// reassembled streams and the application fields app-ID extracts.
//
// The pipeline is Suricata's:
//   - parse: one file per keyword (kw_<name>.go) holding its parser, its
//     matcher and a doc line, registered into a map from init (no
//     central enum). A bad signature is skipped with an *Error naming
//     file, line, sid and keyword; the rest load.
//   - build (build.go, groups.go): group signatures by transport or
//     application protocol and direction, split by server port, pick one
//     fast pattern per signature by strength, build one multi-pattern
//     automaton per group and buffer, file signatures without a fast
//     pattern by address (addrindex.go), assign dense internal ids and
//     drop parse-only data. Headers compile to interval sets (ipset.go).
//   - match (match.go): run the prefilters over the packet's buffers
//     (only the new part of the stream, stream.go), then check the
//     candidates in id order with the whole option chain, using
//     per-worker Scratch.
//
// pcre runs on Go's regexp where the pattern allows and on regexp2, a
// backtracking engine bounded by a timeout and an input cap, otherwise
// (pcre_backtrack.go). The TLS certificate buffers come from the
// server's Certificate message, parsed once per flow into ids.Flow
// (state.go).
//
// The engine registers as the ids plugin "signature".
//
// It imports the standard library, github.com/dlclark/regexp2/v2,
// inspect/ids, inspect/packet, inspect/appid and its own internal
// packages.
package sig
