package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Cgroup v1 limits of each zygote worker (memory and pids), where the host gives them.
type cgroupV1 struct {
	memDir, pidsDir string
	memLimit        int64
}

func (c *cgroupV1) String() string {
	return fmt.Sprintf("v1 memory=%dMiB pids=%d per worker", c.memLimit>>20, pidsLimit)
}

// detectCgroupV1 finds writable v1 memory and pids hierarchies (root on this host; cgroup v2 here
// has only hugetlb). nil when unavailable.
func detectCgroupV1(mem int64) *cgroupV1 {
	if os.Geteuid() != 0 {
		return nil
	}
	c := &cgroupV1{memDir: "/sys/fs/cgroup/memory/codeverify", pidsDir: "/sys/fs/cgroup/pids/codeverify", memLimit: 2*mem + 512<<20}
	for _, d := range []string{c.memDir, c.pidsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil
		}
	}
	return c
}

func cgroupUnavailable() string {
	if os.Geteuid() != 0 {
		return "none (not root)"
	}
	return "none (no writable v1 memory+pids hierarchy)"
}

func (c *cgroupV1) add(name string, pid int) error {
	md, pd := filepath.Join(c.memDir, name), filepath.Join(c.pidsDir, name)
	for _, d := range []string{md, pd} {
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
	}
	writes := [][2]string{
		{filepath.Join(md, "memory.limit_in_bytes"), strconv.FormatInt(c.memLimit, 10)},
		{filepath.Join(pd, "pids.max"), strconv.Itoa(pidsLimit)},
		{filepath.Join(md, "cgroup.procs"), strconv.Itoa(pid)},
		{filepath.Join(pd, "cgroup.procs"), strconv.Itoa(pid)},
	}
	for _, wr := range writes {
		if err := os.WriteFile(wr[0], []byte(wr[1]), 0o644); err != nil {
			c.remove(name)
			return err
		}
	}
	return nil
}

func (c *cgroupV1) remove(name string) {
	for _, d := range []string{filepath.Join(c.memDir, name), filepath.Join(c.pidsDir, name)} {
		for i := 0; i < 50; i++ { // the killed processes leave the group asynchronously
			if err := os.Remove(d); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
