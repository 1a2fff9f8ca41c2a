package collect

import (
	"context"
	"net/url"
	"strconv"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// self collects the caller's own tokens: GET /personal_access_tokens lists
// a non-administrator's own PATs (impersonation tokens excluded), and
// /personal_access_tokens/self the token in use, which may be of any kind
// (https://docs.gitlab.com/api/personal_access_tokens/).
func (c *collector) self(ctx context.Context) error {
	c.plan(2)
	if err := c.ownTokens(ctx); err != nil {
		return err
	}
	c.finished()
	var p patWire
	if _, err := c.get(ctx, "personal_access_tokens/self", nil, &p); err != nil {
		if err := c.gapOrStop(ctx, "instance", "current token", err); err != nil {
			return err
		}
	} else {
		kind, res := c.selfClass()
		c.addToken(mapPAT(&p, kind, c.me, res, srcPATSelf))
	}
	c.finished()
	return nil
}

// ownTokens reads the caller's own PATs.
func (c *collector) ownTokens(ctx context.Context) error {
	var q url.Values
	if c.me.Admin {
		// An administrator's list holds every token of the instance.
		q = url.Values{"user_id": {strconv.FormatInt(c.me.ID, 10)}}
	}
	pats, err := listAll[patWire](ctx, c, "personal_access_tokens", q)
	if err != nil {
		return c.gapOrStop(ctx, "instance", "own personal access tokens", err)
	}
	kind, res := c.selfClass()
	for i := range pats {
		if pats[i].UserID != 0 && pats[i].UserID != c.me.ID {
			// An administrator's list holds everyone's tokens; in self and
			// groups mode only the caller's own are wanted.
			continue
		}
		c.addToken(mapPAT(&pats[i], kind, c.me, res, srcPATs))
	}
	return nil
}

// selfClass is the kind and resource of the caller's own tokens.
func (c *collector) selfClass() (inventory.Kind, inventory.Resource) {
	kind := kindForOwner(c.me.Type)
	res := inventory.Resource{Type: inventory.ResourceInstance}
	switch kind {
	case inventory.KindProjectAccess:
		_, id, _ := parseBotUsername(c.me.Username)
		res = inventory.Resource{Type: inventory.ResourceProject, ID: id}
	case inventory.KindGroupAccess:
		_, id, _ := parseBotUsername(c.me.Username)
		res = inventory.Resource{Type: inventory.ResourceGroup, ID: id, Projects: -1}
	}
	return kind, res
}
