package secret

import (
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Every String made by New is also remembered here, so that Redact can take
// it out of any text about to be printed, whatever path the text took: a
// peer may echo a secret in a header, a status line or an error body, which
// a library may quote. Redact runs at the few places that print, so the
// rest may stay naive. The registry keeps only the most recent values, so
// that serve, making new credentials every hour, does not grow: nothing
// holds an old secret to print.
const (
	// maxValues and maxBytes bound the registry: the last few refreshes'
	// tokens and keys.
	maxValues = 128
	maxBytes  = 1 << 20
	// maxValueLen is how much of one value is remembered: no real secret is
	// that long, and a beginning is enough to recognise an echo.
	maxValueLen = 64 << 10
	// gram is the length of a recognisable fragment: any run of this many
	// characters of a secret is redacted wherever it appears, so half a
	// signature goes as surely as the whole token. Sixteen characters of
	// base64 are 96 bits: no text matches one by chance.
	gram = 16
	// minLen is the shortest value registered at all; shorter ones would
	// match ordinary words. Values of minLen to gram-1 characters are
	// removed only whole.
	minLen = 8
)

var registry struct {
	mu     sync.Mutex
	values []string // oldest first, each already squeezed
	bytes  int
	// grams is the sorted hashes of every gram-long window of every value,
	// rebuilt after a change, never modified, so readers may keep it.
	grams []uint64
	stale bool
}

// register remembers v for Redact, with the encodings an echo puts it in:
// standard and URL-safe base64 (Basic authentication, a JWT's segments) and
// URL encoding (a form field quoted back).
func register(v string) {
	if len(squeeze(v, nil)) < minLen {
		return
	}
	v = v[:min(len(v), maxValueLen)]
	forms := []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.URLEncoding.EncodeToString([]byte(v)), url.QueryEscape(v)}
	r := &registry
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		f = squeeze(f, nil)
		f = f[:min(len(f), maxValueLen)]
		if !slices.Contains(r.values, f) {
			r.values = append(r.values, f)
			r.bytes += len(f)
		}
	}
	for len(r.values) > maxValues || r.bytes > maxBytes {
		r.bytes -= len(r.values[0])
		r.values[0] = ""
		r.values = r.values[1:]
	}
	r.stale = true
}

// ignorable reports whether r is skipped when looking for a secret: white
// space and invisible characters, which may split a secret (a line break in
// an XML message) and which printing collapses or escapes anyway.
func ignorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// squeeze returns s without ignorable characters; when pos is not nil it
// also records, for each byte kept, its offset in s.
func squeeze(s string, pos *[]int) string {
	var b strings.Builder
	for i, r := range s {
		if ignorable(r) {
			continue
		}
		n := utf8.RuneLen(r)
		b.WriteString(s[i : i+n])
		if pos != nil {
			for k := range n {
				*pos = append(*pos, i+k)
			}
		}
	}
	return b.String()
}

func hashGram(s string) uint64 {
	a := binary.LittleEndian.Uint64([]byte(s[:8]))
	b := binary.LittleEndian.Uint64([]byte(s[8:gram]))
	h := a*0x9e3779b97f4a7c15 ^ b
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// snapshot returns the current values and the sorted gram hashes, rebuilding
// the hashes if values changed since the last call.
func snapshot() ([]string, []uint64) {
	r := &registry
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stale {
		var grams []uint64
		for _, v := range r.values {
			for i := 0; i+gram <= len(v); i++ {
				grams = append(grams, hashGram(v[i:i+gram]))
			}
		}
		slices.Sort(grams)
		r.grams, r.stale = grams, false
	}
	return slices.Clone(r.values), r.grams
}

// Redact returns s with every secret made by New in this process, and every
// recognisable fragment of one, replaced by [REDACTED], however split by
// white space or invisible characters. Anything shaped like a signed JWT
// goes too, ours or not: a bearer token is never worth printing.
func Redact(s string) string {
	if len(s) < minLen {
		return s
	}
	s = redactJWTs(s)
	values, grams := snapshot()
	if len(values) == 0 {
		return s
	}
	var pos []int
	sq := squeeze(s, &pos)
	marked := make([]bool, len(sq))
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			marked[i] = true
		}
	}
	for i := 0; i+gram <= len(sq); i++ {
		w := sq[i : i+gram]
		if _, hit := slices.BinarySearch(grams, hashGram(w)); !hit {
			continue
		}
		for _, v := range values {
			if strings.Contains(v, w) {
				mark(i, i+gram)
				break
			}
		}
	}
	for _, v := range values {
		if len(v) >= gram {
			continue
		}
		for off := 0; ; {
			i := strings.Index(sq[off:], v)
			if i < 0 {
				break
			}
			mark(off+i, off+i+len(v))
			off += i + 1
		}
	}
	if !slices.Contains(marked, true) {
		return s
	}
	// Replace each marked run, with whatever ignorable characters lie
	// inside it in s, by one marker.
	var b strings.Builder
	last := 0
	for i := 0; i < len(sq); {
		if !marked[i] {
			i++
			continue
		}
		j := i
		for j < len(sq) && marked[j] {
			j++
		}
		from, to := pos[i], pos[j-1]+1
		b.WriteString(s[last:from])
		b.WriteString(Redacted)
		last = to
		i = j
	}
	b.WriteString(s[last:])
	// One marker for one secret, however many pieces it was found in.
	out := b.String()
	for strings.Contains(out, Redacted+Redacted) {
		out = strings.ReplaceAll(out, Redacted+Redacted, Redacted)
	}
	return out
}

// redactJWTs replaces every compact JWS in s: "eyJ" (the base64 of '{"'),
// then three base64url segments joined by dots, the last one at least a
// gram long (a signature).
func redactJWTs(s string) string {
	if !strings.Contains(s, "eyJ") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "eyJ")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end, ok := jwsEnd(s[i:])
		if !ok {
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(Redacted)
		s = s[i+end:]
	}
}

// jwsEnd returns the length of the compact JWS at the start of s.
func jwsEnd(s string) (int, bool) {
	i, segment, lens := 0, 0, [3]int{}
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '=':
			lens[segment]++
		case c == '.' && segment < 2:
			segment++
		default:
			return i, segment == 2 && lens[1] > 0 && lens[2] >= gram
		}
	}
	return i, segment == 2 && lens[1] > 0 && lens[2] >= gram
}
