package sqlstore

import "testing"

// Every run of rows is cut into statements of a few fixed sizes that add up
// to it exactly, so statement texts repeat across batches.
func TestChunkRowsCoverExactlyWithFewSizes(t *testing.T) {
	sizes := map[int]bool{}
	for _, per := range []int{maxParams / 13, maxParams / 3, maxParams / 7} {
		for n := 1; n <= 5000; n++ {
			total := 0
			for left := n; left > 0; {
				k := chunkRows(left, per)
				if k <= 0 || k > left || k > per {
					t.Fatalf("chunkRows(%d, %d) = %d", left, per, k)
				}
				sizes[k] = true
				total += k
				left -= k
			}
			if total != n {
				t.Fatalf("n %d: chunks add up to %d", n, total)
			}
		}
	}
	if len(sizes) > 11 { // 1–3, 4, 16, 64, 256, 1024 and the three per sizes
		t.Errorf("%d statement sizes: %v", len(sizes), sizes)
	}
}
