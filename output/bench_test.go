package output

import "testing"

// BenchmarkEncode is the cost of rendering the document in each format.
func BenchmarkEncode(b *testing.B) {
	for _, f := range formats {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(f, creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
