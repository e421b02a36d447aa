package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/sql/planner"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Options configure a Session. Zero values take the defaults.
type Options struct {
	// Catalog keeps the tables, views and functions. Default: an
	// in-memory catalog (catalog.NewMemory); a catalog.File keeps them
	// across runs.
	Catalog catalog.Catalog
	// Tables are the connectors tables may name. Default: every built-in
	// connector (sql/connectors.Default).
	Tables *table.Registry
	// Functions are the scalar functions; the host registers its Go UDFs
	// here before CREATE FUNCTION names them. Default: expr.NewFunctions().
	Functions *expr.Functions
	// Stdout is where 'print' tables write. Default: os.Stdout.
	Stdout io.Writer
	// EnvOptions are applied to every job the session starts (checkpoints,
	// http, logger, …), before the options the session's SET keys give.
	EnvOptions []weir.EnvOption
	// Logger logs what the session does. Default: slog.Default().
	Logger *slog.Logger
}

// Session runs SQL statements against a catalog, as Flink's SQL client
// does: DDL changes the catalog, SET changes the settings of later jobs,
// and INSERT INTO and SELECT start jobs. A Session is not safe for
// concurrent use; the jobs it started are.
type Session struct {
	opts     Options
	settings map[string]string
	// set holds the INSERTs of an open BEGIN STATEMENT SET.
	set *statementSet
}

type statementSet struct {
	sinks []*planner.Sink
}

// NewSession returns a session with opts, defaults filled in.
func NewSession(opts Options) (*Session, error) {
	if opts.Catalog == nil {
		opts.Catalog = catalog.NewMemory()
	}
	if opts.Tables == nil {
		opts.Tables = connectors.Default(nil)
	}
	if opts.Functions == nil {
		opts.Functions = expr.NewFunctions()
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Session{opts: opts, settings: map[string]string{}}, nil
}

func (s *Session) planner() *planner.Planner {
	return &planner.Planner{Catalog: s.opts.Catalog, Tables: s.opts.Tables, Functions: s.opts.Functions,
		Location: s.location(), Stdout: s.opts.Stdout, StateTTL: s.stateTTL()}
}

// Execute parses and runs one statement (a trailing ';' is allowed). DDL,
// SET and the like return at once; INSERT INTO and SELECT return once the
// job is started, with the Job in the Result. ctx bounds the jobs it
// starts: cancelling it stops them.
func (s *Session) Execute(ctx context.Context, statement string) (*Result, error) {
	stmt, err := parser.Parse(statement)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, stmt, statement)
}

// ExecuteScript runs the ';'-separated statements of script in order; each
// Result goes to each (nil: results are dropped). It stops at the first
// error, which names the statement's line, or at the first error each
// returns.
func (s *Session) ExecuteScript(ctx context.Context, script string, each func(*Result) error) error {
	pieces, err := parser.Split(script)
	if err != nil {
		return err
	}
	for _, pc := range pieces {
		stmt, err := pc.Parse()
		if err == nil {
			var r *Result
			if r, err = s.run(ctx, stmt, script); err == nil && each != nil {
				err = each(r)
			}
		}
		if err != nil {
			return fmt.Errorf("sql: the statement at line %d: %w", pc.Pos.Line, err)
		}
	}
	if s.set != nil {
		s.set = nil
		return errors.New("sql: the script ends inside BEGIN STATEMENT SET: close it with END; its INSERTs did not run")
	}
	return nil
}

func ok(format string, args ...any) *Result {
	return &Result{Kind: ResultOK, Message: fmt.Sprintf(format, args...)}
}

func (s *Session) run(ctx context.Context, stmt ast.Statement, src string) (*Result, error) {
	if s.set != nil {
		switch st := stmt.(type) {
		case *ast.Insert:
			snk, err := s.planner().PlanInsert(st, src)
			if err != nil {
				return nil, err
			}
			s.set.sinks = append(s.set.sinks, snk)
			return ok("Added INSERT INTO %s to the statement set.", snk.Table.Name), nil
		case *ast.EndStatementSet:
			set := s.set
			s.set = nil
			if len(set.sinks) == 0 {
				return ok("The statement set was empty: no job started."), nil
			}
			job, err := s.startJob(ctx, set.sinks, nil)
			if err != nil {
				return nil, err
			}
			return &Result{Kind: ResultJob, Job: job, Message: fmt.Sprintf("Job '%s' started.", job.name)}, nil
		default:
			return nil, fmt.Errorf("sql: only INSERT INTO and END may follow BEGIN STATEMENT SET, not %s: END the statement set first", firstWord(stmt))
		}
	}
	cat := s.opts.Catalog
	switch st := stmt.(type) {
	case *ast.CreateTable:
		t, err := s.planner().Table(st, src)
		if err != nil {
			return nil, err
		}
		if err := cat.CreateTable(t, st.IfNotExists); err != nil {
			return nil, err
		}
		return ok("Table '%s' created.", t.Name), nil
	case *ast.CreateView:
		v, err := s.planner().View(st, src)
		if err != nil {
			return nil, err
		}
		if err := cat.CreateView(v, st.IfNotExists); err != nil {
			return nil, err
		}
		return ok("View '%s' created.", v.Name), nil
	case *ast.CreateFunction:
		name := strings.Join(st.Name, ".")
		if _, found := s.opts.Functions.Lookup(st.GoName); !found {
			return nil, fmt.Errorf("sql: CREATE FUNCTION %s AS '%s': no Go function is registered as '%s': register it with Options.Functions.Register before the session runs", name, st.GoName, st.GoName)
		}
		if err := cat.CreateFunction(catalog.Function{Name: name, GoName: st.GoName}, st.IfNotExists); err != nil {
			return nil, err
		}
		return ok("Function '%s' created.", name), nil
	case *ast.Drop:
		name := strings.Join(st.Name, ".")
		var err error
		switch st.Kind {
		case ast.TableObject:
			err = cat.DropTable(name, st.IfExists)
		case ast.ViewObject:
			err = cat.DropView(name, st.IfExists)
		default:
			err = cat.DropFunction(name, st.IfExists)
		}
		if err != nil {
			return nil, err
		}
		return ok("%s '%s' dropped.", titleKind(st.Kind), name), nil
	case *ast.Show:
		return s.show(st)
	case *ast.Describe:
		return s.describe(st)
	case *ast.Set:
		if st.Key == "" {
			keys := make([]string, 0, len(s.settings))
			for k := range s.settings {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			r := &Result{Kind: ResultTable, Schema: types.Schema{{Name: "key", Type: types.StringType}, {Name: "value", Type: types.StringType}}}
			for _, k := range keys {
				r.Rows = append(r.Rows, types.NewRow(types.StringValue(k), types.StringValue(s.settings[k])))
			}
			return r, nil
		}
		if err := checkSetting(st.Key, st.Value); err != nil {
			return nil, err
		}
		s.settings[st.Key] = st.Value
		return ok("Set '%s' to '%s'.", st.Key, st.Value), nil
	case *ast.Reset:
		if st.Key == "" {
			s.settings = map[string]string{}
			return ok("All session settings reset."), nil
		}
		if _, known := settingKeys[st.Key]; !known {
			return nil, fmt.Errorf("sql: RESET: unknown key '%s': the keys are %s", st.Key, knownKeys())
		}
		delete(s.settings, st.Key)
		return ok("Reset '%s'.", st.Key), nil
	case *ast.BeginStatementSet:
		s.set = &statementSet{}
		return ok("Begin a statement set: INSERT statements, then END."), nil
	case *ast.EndStatementSet:
		return nil, errors.New("sql: END without BEGIN STATEMENT SET: begin one first")
	case *ast.Explain:
		return s.explain(st, src)
	case *ast.Insert:
		snk, err := s.planner().PlanInsert(st, src)
		if err != nil {
			return nil, err
		}
		job, err := s.startJob(ctx, []*planner.Sink{snk}, nil)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: ResultJob, Job: job, Message: fmt.Sprintf("Job '%s' started.", job.name)}, nil
	case *ast.Query:
		n, err := s.planner().PlanQuery(st, src)
		if err != nil {
			return nil, err
		}
		job, err := s.startJob(ctx, nil, n)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: ResultQuery, Job: job, Schema: n.Schema()}, nil
	}
	return nil, fmt.Errorf("sql: %s statements are not supported", firstWord(stmt))
}

func firstWord(stmt ast.Statement) string {
	w, _, _ := strings.Cut(strings.TrimSpace(stmt.String()), " ")
	return strings.ToUpper(w)
}

func titleKind(k ast.ObjectKind) string {
	switch k {
	case ast.TableObject:
		return "Table"
	case ast.ViewObject:
		return "View"
	}
	return "Function"
}

func (s *Session) show(st *ast.Show) (*Result, error) {
	var names []string
	var err error
	switch st.Kind {
	case ast.TableObject:
		names, err = s.opts.Catalog.ListTables()
	case ast.ViewObject:
		names, err = s.opts.Catalog.ListViews()
	default:
		names, err = s.opts.Catalog.ListFunctions()
		names = append(names, s.opts.Functions.Names()...)
		slices.Sort(names)
	}
	if err != nil {
		return nil, err
	}
	col := strings.ToLower(st.Kind.String()) + " name"
	r := &Result{Kind: ResultTable, Schema: types.Schema{{Name: col, Type: types.StringType}}}
	for _, n := range names {
		r.Rows = append(r.Rows, types.NewRow(types.StringValue(n)))
	}
	return r, nil
}

func (s *Session) describe(st *ast.Describe) (*Result, error) {
	name := strings.Join(st.Name, ".")
	if t, err := s.opts.Catalog.GetTable(name); err == nil {
		schema, rows := s.planner().Describe(t)
		return &Result{Kind: ResultTable, Schema: schema, Rows: rows}, nil
	}
	v, err := s.opts.Catalog.GetView(name)
	if err != nil {
		return nil, fmt.Errorf("sql: DESCRIBE %s: no table or view of that name: SHOW TABLES lists them", name)
	}
	r := &Result{Kind: ResultTable, Schema: types.Schema{{Name: "name", Type: types.StringType}, {Name: "type", Type: types.StringType}}}
	for _, f := range v.Schema {
		r.Rows = append(r.Rows, types.NewRow(types.StringValue(f.Name), types.StringValue(f.Type.String())))
	}
	return r, nil
}

func (s *Session) explain(st *ast.Explain, src string) (*Result, error) {
	p := s.planner()
	var plan planner.Node
	var sinks []*planner.Sink
	switch x := st.Statement.(type) {
	case *ast.Query:
		n, err := p.PlanQuery(x, src)
		if err != nil {
			return nil, err
		}
		plan = n
	case *ast.Insert:
		snk, err := p.PlanInsert(x, src)
		if err != nil {
			return nil, err
		}
		plan, sinks = snk, []*planner.Sink{snk}
	default:
		return nil, fmt.Errorf("sql: EXPLAIN of %s: only queries and INSERT INTO can be explained", firstWord(st.Statement))
	}
	// Only the parallelism: the job is planned, never run.
	var opts []weir.EnvOption
	if v, ok := s.settings["parallelism.default"]; ok {
		n, _ := strconv.Atoi(v)
		opts = append(opts, weir.Parallelism(n))
	}
	env := weir.NewEnv(opts...)
	bd := p.NewBuilder(env)
	var err error
	if sinks != nil {
		err = s.addSinks(bd, sinks)
	} else {
		var rows weir.Stream[types.Row]
		rows, err = bd.Query(plan, "select")
		if err == nil {
			weir.SinkTo(rows, sink.Func[types.Row](func(context.Context, types.Row) error { return nil }), weir.Name("collect"), weir.UID("select/collect"), weir.Parallelism(1))
		}
	}
	if err != nil {
		return nil, err
	}
	g, err := env.Plan()
	if err != nil {
		return nil, fmt.Errorf("sql: EXPLAIN: %w", err)
	}
	var b strings.Builder
	b.WriteString("== Logical Plan ==\n")
	b.WriteString(planner.Explain(plan))
	b.WriteString("\n== Job Graph ==\n")
	for _, op := range g.Operators {
		fmt.Fprintf(&b, "%d: %s [%s, parallelism %d, uid %s]\n", op.ID, op.Name, op.Kind, op.Parallelism, op.UID)
	}
	for _, e := range g.Edges {
		chained := ""
		if e.Chained {
			chained = ", chained"
		}
		fmt.Fprintf(&b, "%d -> %d [%s%s]\n", e.From, e.To, e.Partitioning, chained)
	}
	return &Result{Kind: ResultExplain, Text: b.String()}, nil
}

// addSinks adds INSERTs' plans; two INSERTs into one table get distinct ids.
func (s *Session) addSinks(bd *planner.Builder, sinks []*planner.Sink) error {
	seen := map[string]int{}
	for _, snk := range sinks {
		id := "insert/" + snk.Table.Name
		n := seen[id]
		seen[id]++
		if n > 0 {
			// A second INSERT into one table: its operators need their own
			// names and ids.
			id += fmt.Sprintf("#%d", n+1)
			dup := *snk
			dup.Table.Name += fmt.Sprintf(" #%d", n+1)
			snk = &dup
		}
		if err := bd.Sink(snk, id); err != nil {
			return err
		}
	}
	return nil
}

// rowBuffer is how many result rows of a SELECT wait for the reader.
const rowBuffer = 1024

// startJob builds a job of INSERTs (sinks) or of a SELECT (query) and
// starts it.
func (s *Session) startJob(ctx context.Context, sinks []*planner.Sink, query planner.Node) (*Job, error) {
	opts, err := s.envOptions()
	if err != nil {
		return nil, err
	}
	env := weir.NewEnv(opts...)
	bd := s.planner().NewBuilder(env)
	job := &Job{env: env}
	if query != nil {
		rows, err := bd.Query(query, "select")
		if err != nil {
			return nil, err
		}
		ch := make(chan types.Row, rowBuffer)
		job.rows, job.changelog = ch, planner.Updating(query)
		weir.SinkTo(rows, sink.Func[types.Row](func(ctx context.Context, r types.Row) error {
			select {
			case ch <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}), weir.Name("collect"), weir.UID("select/collect"), weir.Parallelism(1))
		job.name = "select"
	} else {
		if err := s.addSinks(bd, sinks); err != nil {
			return nil, err
		}
		names := make([]string, len(sinks))
		for i, snk := range sinks {
			names[i] = snk.Table.Name
		}
		job.name = "insert-into_" + strings.Join(names, ",")
	}
	if v, ok := s.settings["pipeline.name"]; ok {
		job.name = v
	}
	if err := s.deadLetters(bd, job); err != nil {
		return nil, err
	}
	job.closers = append(job.closers, bd.Closers...)
	job.start(ctx)
	s.opts.Logger.Info("sql: job started", "job", job.name)
	return job, nil
}

// deadLetters writes the sources' dead letters to 'sql.dead-letters' when
// it is set; weir counts them in the metrics either way.
func (s *Session) deadLetters(bd *planner.Builder, job *Job) error {
	path, set := s.settings["sql.dead-letters"]
	if !set || len(bd.DeadLetters) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("sql: 'sql.dead-letters' = '%s': %w: SET it to a file you can write", path, err)
	}
	var mu sync.Mutex
	all := weir.Union(bd.DeadLetters[0], bd.DeadLetters[1:]...)
	weir.SinkTo(all, sink.Func[source.DeadLetter](func(_ context.Context, d source.DeadLetter) error {
		line, err := json.Marshal(deadLetterLine{Split: d.Split, Position: d.Position, Raw: string(d.Raw), Reason: d.Reason})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		_, err = f.Write(append(line, '\n'))
		return err
	}), weir.Name("dead letters"), weir.UID("sql/dead-letters"), weir.Parallelism(1))
	job.closers = append(job.closers, f.Close)
	return nil
}

type deadLetterLine struct {
	Split    string `json:"split"`
	Position string `json:"position"`
	Raw      string `json:"raw"`
	Reason   string `json:"reason"`
}
