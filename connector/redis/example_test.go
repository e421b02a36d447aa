package redis_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/connector/stdout"
	"github.com/weirstream/weir/sink/async"
	"github.com/weirstream/weir/weirtest"
)

// pageView is one hit on a page.
type pageView struct {
	Page   string
	Client string
}

// categorized is a page view with its page's category.
type categorized struct {
	Page     string
	Client   string
	Category string
}

// categoryOf returns the function that enriches a page view with its
// page's category, read from the hash weir:pages:category (field: page,
// value: category) through lookup. A page without a category is "other".
func categoryOf(lookup *redis.Lookup) func(ctx context.Context, v pageView) (categorized, error) {
	return func(ctx context.Context, v pageView) (categorized, error) {
		category, found, err := lookup.HGet(ctx, "weir:pages:category", v.Page)
		if err != nil {
			return categorized{}, err
		}
		if !found {
			category = "other"
		}
		return categorized{Page: v.Page, Client: v.Client, Category: category}, nil
	}
}

// Enrich page views with their page's category, read from Redis with many
// lookups in flight (weir.AsyncWait) and a cache in front of Redis: the
// popular pages are read once a minute, not once per view.
func ExampleNewLookup() {
	server, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	lookup, err := redis.NewLookup(server, redis.CacheSize(10_000), redis.CacheTTL(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lookup.Close()

	env := weir.NewEnv()
	views := weir.FromSource(env, weirtest.FromSlice(
		pageView{"/home", "10.0.0.1"}, pageView{"/cart", "10.0.0.2"}, pageView{"/home", "10.0.0.3"}))
	enriched := weir.AsyncWait(views, categoryOf(lookup), weir.AsyncOptions[pageView, categorized]{
		Capacity: 100,
		Timeout:  time.Second,
		Retry:    weir.FixedDelayRetry(3, 100*time.Millisecond),
	})
	out, err := stdout.NewSink[categorized](os.Stdout)
	if err != nil {
		fmt.Println(err)
		return
	}
	weir.SinkTo(enriched, out)
	if err := env.Execute(context.Background(), "enrich"); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", lookup.Stats())
}

// Write per-minute PV/UV results to Redis under the application's key
// layout (see the package documentation), in batches of up to 500 records.
func ExampleNewSink() {
	server, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	snk, err := redis.NewSink(server, pvuvLayout("weir:pvuv"),
		redis.AsyncOptions(async.Options[redis.Entry]{MaxBatchSize: 500, MaxBufferedRecords: 5_000}))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := weir.NewEnv(weir.Checkpoints(10*time.Second, "file:///var/lib/weir/pvuv"))
	results := weir.FromSource(env, weirtest.FromSlice(windowResults(3)...))
	weir.SinkTo(results, snk)
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(snk.Metrics().RecordsWritten, "results written")
}
