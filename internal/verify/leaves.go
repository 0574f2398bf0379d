package verify

import (
	"slices"
	"sort"
)

// A leafSet holds the leaves of one log as verify found them: 32 bytes a
// leaf for the leaves that arrive in order (every leaf of an intact
// archive), plus their locations as runs, and a map for any other leaf (a
// damaged archive's: out of order, or before the first one found).
type leafSet struct {
	// dense holds leaves [begin, begin+n) in blocks of blockLeaves hashes,
	// so that growing never copies what is already held.
	begin, n uint64
	dense    [][]leafHash
	// segs locates the dense leaves: each is a run of consecutive leaves
	// on consecutive rows of one file, in leaf order.
	segs   []segment
	sparse map[uint64]leaf
}

type leafHash = [32]byte

// blockLeaves is the number of hashes in a block of a leafSet (512 KiB).
const blockLeaves = 1 << 14

// A segment is a run of leaves [leaf, leaf+count) at rows [row, row+count)
// of one file.
type segment struct {
	leaf  uint64
	count uint64
	loc   leafLoc
}

// A leafRun is a run [begin, end) of present leaves.
type leafRun struct{ begin, end uint64 }

// add adds leaf i, unless the set already holds it: then it returns where
// the first one is.
func (s *leafSet) add(i uint64, h *leafHash, loc leafLoc) (prev leafLoc, dup bool) {
	if s.n == 0 && len(s.sparse) == 0 {
		s.begin = i
	}
	if s.n > 0 && i >= s.begin && i < s.begin+s.n {
		return s.loc(i), true
	}
	if lf, ok := s.sparse[i]; ok {
		return lf.loc, true
	}
	if i != s.begin+s.n || s.begin+s.n < s.begin {
		if s.sparse == nil {
			s.sparse = map[uint64]leaf{}
		}
		s.sparse[i] = leaf{hash: *h, loc: loc}
		return leafLoc{}, false
	}
	k := s.n
	if k%blockLeaves == 0 {
		s.dense = append(s.dense, make([]leafHash, 0, blockLeaves))
	}
	b := &s.dense[len(s.dense)-1]
	*b = append(*b, *h)
	s.n++
	if m := len(s.segs); m > 0 {
		last := &s.segs[m-1]
		if last.loc.file == loc.file && last.leaf+last.count == i && int64(last.loc.row)+int64(last.count) == int64(loc.row) {
			last.count++
			return leafLoc{}, false
		}
	}
	s.segs = append(s.segs, segment{leaf: i, count: 1, loc: loc})
	return leafLoc{}, false
}

// has reports whether leaf i is present.
func (s *leafSet) has(i uint64) bool {
	if s.n > 0 && i >= s.begin && i < s.begin+s.n {
		return true
	}
	_, ok := s.sparse[i]
	return ok
}

// hash returns the hash of leaf i; requires has(i).
func (s *leafSet) hash(i uint64) *leafHash {
	if s.n > 0 && i >= s.begin && i < s.begin+s.n {
		k := i - s.begin
		return &s.dense[k/blockLeaves][k%blockLeaves]
	}
	lf := s.sparse[i]
	return &lf.hash
}

// loc returns where leaf i is; requires has(i).
func (s *leafSet) loc(i uint64) leafLoc {
	if s.n > 0 && i >= s.begin && i < s.begin+s.n {
		j := sort.Search(len(s.segs), func(j int) bool { return s.segs[j].leaf > i }) - 1
		sg := s.segs[j]
		return leafLoc{file: sg.loc.file, row: sg.loc.row + int32(i-sg.leaf)}
	}
	return s.sparse[i].loc
}

// count returns the number of leaves.
func (s *leafSet) count() uint64 { return s.n + uint64(len(s.sparse)) }

// runs returns the present leaves as sorted, disjoint, non-adjacent runs.
func (s *leafSet) runs() []leafRun {
	keys := make([]uint64, 0, len(s.sparse))
	for i := range s.sparse {
		keys = append(keys, i)
	}
	slices.Sort(keys)
	var out []leafRun
	add := func(r leafRun) {
		if n := len(out); n > 0 && out[n-1].end == r.begin {
			out[n-1].end = r.end
			return
		}
		out = append(out, r)
	}
	dense := s.n > 0
	for _, k := range keys {
		if dense && s.begin < k {
			add(leafRun{s.begin, s.begin + s.n})
			dense = false
		}
		add(leafRun{k, k + 1})
	}
	if dense {
		add(leafRun{s.begin, s.begin + s.n})
	}
	return out
}

// leafRuns are a log's present leaves (leafSet.runs), with the queries
// checkLog, coverLinks and reportLog ask of them.
type leafRuns []leafRun

// reach returns r such that leaves [0, r) are all present.
func (rs leafRuns) reach() uint64 {
	if len(rs) == 0 || rs[0].begin != 0 {
		return 0
	}
	return rs[0].end
}

// top returns one past the highest leaf present (0 if none).
func (rs leafRuns) top() uint64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].end
}

// last returns the highest present leaf <= i, if any.
func (rs leafRuns) last(i uint64) (uint64, bool) {
	j := sort.Search(len(rs), func(j int) bool { return rs[j].begin > i })
	if j == 0 {
		return 0, false
	}
	return min(i, rs[j-1].end-1), true
}

// from calls yield with each present leaf >= i, in order, until it
// returns false.
func (rs leafRuns) from(i uint64, yield func(uint64) bool) {
	for _, r := range rs {
		for k := max(r.begin, i); k < r.end; k++ {
			if !yield(k) {
				return
			}
		}
	}
}
