package collect

import "github.com/tokenaudit/tokenaudit/inventory"

// groupWire and projectWire keep the few fields of GitLab's group and
// project entities the collector uses.
type groupWire struct {
	ID       int64  `json:"id"`
	FullPath string `json:"full_path"`
	ParentID int64  `json:"parent_id"`
}

type projectWire struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	// Archived is not in the simple=true entity; the collector reads the
	// archived set from a second list with archived=true.
	Archived  *bool `json:"archived"`
	Namespace struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		FullPath string `json:"full_path"`
	} `json:"namespace"`
}

// tree is the part of the instance the collector could list: groups and
// projects, from which it derives paths and group sizes without a request
// per group.
type tree struct {
	groups   map[int64]groupWire
	projects map[int64]projectWire
	archived map[int64]bool // nil: archived state unknown
	// sizes counts, per group, the projects in it and its subgroups
	// (shared-in projects are not in a group's namespace, so they never
	// count); nil when the lists were incomplete.
	sizes map[int64]int
}

func newTree(groups []groupWire, projects []projectWire, archived []projectWire, complete bool) *tree {
	t := &tree{groups: map[int64]groupWire{}, projects: map[int64]projectWire{}}
	for _, g := range groups {
		t.groups[g.ID] = g
	}
	for _, p := range projects {
		t.projects[p.ID] = p
	}
	if archived != nil {
		t.archived = map[int64]bool{}
		for _, p := range archived {
			t.archived[p.ID] = true
		}
	}
	if complete {
		t.sizes = map[int64]int{}
		t.eachGroupAbove(func(gid, _ int64) { t.sizes[gid]++ })
	}
	return t
}

// eachGroupAbove calls fn(group, project) for every project in a group
// namespace and every group it lies in: its own group and that group's
// ancestors. A project in a user namespace lies in no group. The walk stops
// at a group missing from the lists and at a cycle in broken data.
func (t *tree) eachGroupAbove(fn func(gid, pid int64)) {
	for _, p := range t.projects {
		if p.Namespace.Kind == "user" {
			continue
		}
		seen := map[int64]bool{}
		for id := p.Namespace.ID; id != 0 && !seen[id]; id = t.groups[id].ParentID {
			seen[id] = true
			fn(id, p.ID)
			if _, ok := t.groups[id]; !ok {
				break
			}
		}
	}
}

// project returns a project's resource; Path is "" when the project is not
// in the lists (a bot whose project is gone).
func (t *tree) project(id int64) inventory.Resource {
	r := inventory.Resource{Type: inventory.ResourceProject, ID: id}
	if p, ok := t.projects[id]; ok {
		r.Path = p.PathWithNamespace
		if p.Archived != nil {
			r.Archived = *p.Archived
		} else {
			r.Archived = t.archived[id]
		}
	}
	return r
}

// group returns a group's resource with its project count (-1: unknown).
func (t *tree) group(id int64) inventory.Resource {
	r := inventory.Resource{Type: inventory.ResourceGroup, ID: id, Projects: -1}
	if g, ok := t.groups[id]; ok {
		r.Path = g.FullPath
		if t.sizes != nil {
			r.Projects = t.sizes[id]
		}
	}
	return r
}
