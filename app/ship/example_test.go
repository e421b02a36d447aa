package ship_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/weirstream/weir/app/ship"
	"github.com/weirstream/weir/connector/kafka"
)

// Ship nginx's access logs until the process is interrupted; a restart
// goes on where the last commit left off.
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := ship.Run(ctx, ship.Config{
		Client:  kafka.Client{Brokers: []string{"localhost:9092"}},
		Pattern: "/var/log/nginx/access*.log",
		Topic:   "access",
	})
	if err != nil {
		log.Fatal(err)
	}
}
