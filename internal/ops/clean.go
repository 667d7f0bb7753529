package ops

import (
	"slices"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/clean"
)

// cleaned is the report as it may be printed: every string in it that a
// peer could have shaped (a fact from a token's claims, a warning, an
// error quoting STS, a hint) passed through clean.Line or clean.Block,
// so that no secret, control character or forged line reaches the
// terminal or a JSON consumer.
func (r *Report) cleaned() *Report {
	c := *r
	c.Steps = nil
	for _, s := range r.Steps {
		cs := *s
		cs.Facts = make(Facts, len(s.Facts))
		for i, f := range s.Facts {
			cs.Facts[i] = Fact{Key: f.Key, Label: f.Label, Value: clean.Line(f.Value), Text: clean.Line(f.Text)}
		}
		cs.Warnings = cleanAll(s.Warnings, clean.Line)
		cs.Error = clean.Line(s.Error)
		cs.Hints = cleanAll(s.Hints, clean.Block)
		c.Steps = append(c.Steps, &cs)
	}
	return &c
}

func cleanAll(ss []string, clean func(string) string) []string {
	out := slices.Clone(ss)
	for i := range out {
		out[i] = clean(out[i])
	}
	return out
}
