// Package cluster runs one weir job across several processes (workers),
// on several machines, without a cluster manager of its own: membership,
// failure detection and leader election come from Kafka's consumer-group
// protocol, which every weir cluster already has.
//
// # The model
//
//   - Job = group. Every worker of a job joins the Kafka group named after
//     the job (Config.Name) with protocol type "weir" and weir's own
//     kgo.GroupBalancer. The group "consumes" the one-partition topic
//     weir-cluster.<name> only so that the client manages the group; the
//     topic carries no data and nobody is ever assigned its partition. Join
//     creates it if it is missing.
//   - Worker = member. Its join metadata is a Worker: ID (the static
//     member's instance ID), data address, slots, and the job graph's
//     fingerprint and description.
//   - Leader = coordinator. The member Kafka elects leader computes the
//     Assignment in its Balance and hands it to every member; it triggers
//     checkpoints and runs source enumerators. Kafka keeps the same leader
//     while it stays in the group.
//   - Generation = epoch. Every join, leave or death (session timeout)
//     starts a new group generation; every worker stops its tasks and
//     restores from the latest completed checkpoint at the new parallelism.
//     Messages carry the generation; one of an older generation is refused.
//   - Assignment = plan. Workers sorted by ID own consecutive slot ranges;
//     subtask i of a chain of parallelism p runs in slot i*S/p (SlotOf),
//     where S is the total slots. The default parallelism is min(S, max
//     parallelism); an explicitly larger parallelism puts several subtasks
//     in a slot.
//
// # Files
//
//   - assign.go: Assignment, placement (SlotOf, WorkerOf, Subtasks) and
//     its versioned encoding.
//   - member.go: Join and Membership, the balancer, the worker's join
//     metadata.
//   - graph.go: the job graph description (Describe, Fingerprint) and the
//     difference a refusal names.
//   - worker.go: Run, a worker's loop over membership events and epochs.
//   - epoch.go: one epoch's tasks in this process, the network exchange
//     and remote split assignment, and the coordinator's restarts.
//   - transport.go, transport_data.go, transport_control.go,
//     transport_client.go: the gRPC server and client of the data plane
//     (element streams whose HTTP/2 flow-control window holds a slow receiver's senders back) and of the control messages.
//   - status.go: Status, what GET /api/cluster answers.
//   - report.go: the job's view across workers: each worker's Report of
//     its subtasks and failures to the coordinator, and the View any
//     worker's UI asks the coordinator for.
//
// # Events and goroutines
//
// A Membership reports on one channel (Events): Assigned (a generation
// began: run its tasks), Revoked (it ended: stop them now), Refused (this
// worker may not take part: leave and exit). The events are sent by the
// Kafka client's group goroutine from inside its callbacks
// (OnPartitionsAssigned, OnPartitionsRevoked, OnPartitionsLost, and the
// group-error hook), which wait until the event is received: read Events
// promptly, from a goroutine of your own. Never call the client's Close or
// LeaveGroup from inside those callbacks (kgo deadlocks); Membership.Leave
// is safe from the reader of Events because it first stops delivery.
//
// A static member's client sends no LeaveGroup when it closes (so that a
// restart can take its place); Leave sends one itself, with the instance
// ID and its member ID, so a stopped worker makes the others rebalance at
// once. A killed worker is noticed at the session timeout. A worker that
// restarts with the same ID inside the session timeout gets the same
// generation back without a rebalance: it has no tasks of that generation,
// so it tells the coordinator (Failed with Rejoined and its process's
// nonce), and the coordinator starts a new epoch of the same generation
// on every worker — unless the nonce is the one that took the current
// epoch (the report is stale).
//
// # Epochs
//
// An epoch is one start of the job in a generation: generation<<16 |
// restart. The coordinator starts each on every worker (Start; each
// answers with its process's nonce), restoring the newest complete
// checkpoint; a failure anywhere ends the epoch and the coordinator starts
// the next, as the job's restart strategy allows. Servers refuse messages
// of an older epoch (stale generation: zombie fencing), and workers drop
// the data of an epoch that is not theirs. A worker cut off from the
// others runs its old epoch until it notices; what an epoch leaves outside
// the processes therefore carries the epoch in its name, so that such a
// zombie cannot overwrite or fence what the live epoch uses: its keyed
// state files (job.OpenRun) and its sinks' external names, such as the
// Kafka sink's transactional ids (job.Run.Attempt, sink.AttemptOf). A
// sink takes over what an earlier attempt left and leaves a later one's
// alone, so attempts grow across everything that ran the job from the
// checkpoint location, also when Kafka forgot the group of a stopped
// cluster and numbers generations from 1 again: the attempt is the epoch
// under a lifetime that the coordinators count in the location (the
// probe "epochs", attempt.go), carried on to a new location that restores
// from a checkpoint in it.
// A cut-off coordinator whose worker holds every task could still
// complete checkpoints, and its sinks would publish what the live epoch
// writes again: before it writes a checkpoint's metadata, deletes a
// checkpoint or finishes the job, it asks the brokers with a heartbeat of
// its own whether its generation goes on (Membership.Confirm,
// job.Confirmer). Every worker asks too before it builds an epoch, whose
// restore takes output back.
//
// # The checkpoint location
//
// Workers restore each other's state, so all must see one checkpoint
// location. Before its first epoch, the coordinator writes a probe with
// its process's nonce there (storage.WriteProbe), and every Start names
// it: a worker that does not read the same probe in its own location is
// refused (its Run returns why) and leaves the group.
//
// # The fingerprint
//
// Workers must run the same job graph. Each carries a fingerprint of it
// (Fingerprint of the Describe text: operators with their UIDs, kinds,
// element types, inputs and explicit parallelism; the job's max
// parallelism) and the text itself. The leader refuses every member whose
// fingerprint differs from its own: the member's assignment carries the
// reason, naming up to five differences ("operator "sink" exists only on
// worker "a"", "parallelism of operator "map": 2 on worker "a" vs 1 on
// worker "b""). The leader's graph is the job's, whichever is right.
//
// # Invariants
//
// Cited in comments as cluster invariant N.
//
//  1. The slots of the workers of an assignment are disjoint and cover
//     [0, S): worker k owns [Start, Start+Slots), the first starts at 0,
//     each starts where the one before ends, workers are sorted by ID, each
//     once, each with at least one slot, S <= MaxSlots. DecodeAssignment
//     checks this; so does EncodeAssignment.
//  2. Every member of a generation receives the same plan (only Refused
//     differs), computed once by the leader; all members therefore place
//     every subtask alike, and one coordinator is named.
//  3. On each member, Revoked of generation N is delivered before Assigned
//     of any later generation; each Assigned is followed by one Revoked
//     unless the membership is left first.
//  4. The encodings (join metadata, assignment) start with a magic and a
//     version, and equal values encode to equal bytes, so that a static
//     member's unchanged metadata does not cause a rebalance.
package cluster
