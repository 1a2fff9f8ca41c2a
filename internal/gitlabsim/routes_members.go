package gitlabsim

// listGroupMembers and listProjectMembers are GET /groups/:id/members and
// GET /projects/:id/members (https://docs.gitlab.com/api/members/): the
// direct members, to anyone who may see the group or project. Each is
// UserBasic and access_level.
func listGroupMembers(s *Server, rc *reqCtx) (any, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	return membersPage(s, rc, g.Members)
}

func listProjectMembers(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	return membersPage(s, rc, p.Members)
}

func membersPage(s *Server, rc *reqCtx, ms []Membership) (any, *apiError) {
	var list []Membership
	for _, m := range ms {
		if rc.ix.users[m.UserID] != nil {
			list = append(list, m)
		}
	}
	return paged(s, rc, list, func(m Membership) map[string]any {
		e := s.userBasic(rc.ix.users[m.UserID])
		e["access_level"] = m.AccessLevel
		return e
	})
}
