package file_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirstream/weir/connector/file"
)

func ExampleNewSource() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "access.log"), []byte("GET /\n"), 0o644)

	bounded, err := file.NewSource(filepath.Join(dir, "*.log"), file.SplitSize(8<<20))
	fmt.Println(bounded.Boundedness(), err)

	tail, err := file.NewSource(filepath.Join(dir, "access.log*"), file.Follow())
	fmt.Println(tail.Boundedness(), err)

	_, err = file.NewSource(filepath.Join(dir, "*.txt"))
	fmt.Println(err != nil)
	// Output:
	// bounded <nil>
	// unbounded <nil>
	// true
}

func ExampleSubtaskPath() {
	fmt.Println(file.SubtaskPath("out/pv.jsonl", 0, 1))
	fmt.Println(file.SubtaskPath("out/pv.jsonl", 1, 2))
	// Output:
	// out/pv.jsonl
	// out/pv-1.jsonl
}
