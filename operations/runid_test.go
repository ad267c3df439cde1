package operations

import "testing"

// TestRunIDFormat: every id NewRunID makes passes CheckRunID, and
// nothing that could name another folder does.
func TestRunIDFormat(t *testing.T) {
	for i := 0; i < 100; i++ {
		if id := NewRunID(); CheckRunID(id) != nil {
			t.Fatalf("NewRunID made %q, which CheckRunID refuses", id)
		}
	}
	for _, id := range []string{"", ".", "..", "../20261205T182740Z-5955", "/20261205T182740Z-5955", "a/b",
		"20261205T182740Z-5955/..", "20261205T182740Z-5955\n", "20261205T182740Z-595", "20261205T182740Z-59G5", "latest"} {
		if CheckRunID(id) == nil {
			t.Errorf("CheckRunID(%q) accepted it", id)
		}
	}
}
