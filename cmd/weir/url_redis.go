package main

import (
	"net/url"

	"github.com/weirstream/weir/connector/redis"
)

// redis:// and rediss:// URLs: --sink redis://HOST:PORT/DB?prefix=P.
// redis.ParseURL reads the URL; the prefix of the keys is the flag's.

// redisOutput is a parsed --sink redis://...
type redisOutput struct {
	url    string         // without prefix=
	server redis.Endpoint // the URL, parsed
	prefix string         // of the keys
}

// parseRedisSink parses --sink redis://... or rediss://...
func parseRedisSink(f *flagSet, flagName string, u *url.URL) *redisOutput {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		f.problem(flagName, "the parameters of %q do not parse (%v)", u.Redacted(), err)
	}
	out := &redisOutput{prefix: q.Get("prefix")}
	q.Del("prefix")
	u.RawQuery = q.Encode()
	out.url = u.String()
	if out.server, err = redis.ParseURL(out.url); err != nil {
		f.problem(flagName, "%v", err)
	}
	out.server.ClientName = "weir-pvuv"
	return out
}
