%% Erlang distribution between nodes on loopback (this node plus peer nodes started with the
%% `peer` module, each its own OS process), the same figures as corvid's bench_cluster and
%% bench_cluster_nodes:
%%   cluster_rtt_us, cluster_rtt_os_us  a process here pings a process on another node, waits for each answer
%%   cluster_oneway_per_s, cluster_oneway_os_per_s  a process here streams small messages to a process
%%                                  on another node (each pair is one measurement printed twice)
%%   cluster_broadcast_3_acked_median_us, _p99_us  a broadcast (pg:get_members + send to each) to one
%%                                  member on each of 3 other nodes, until all 3 acked
%%   cluster_broadcasts_per_s_3     broadcasts to those 3, all delivered (members count and report every
%%                                  1024; at most 4096 unacknowledged, as on the corvid side)
%%   cluster_frozen_detect_s        a peer is SIGSTOPped; until the last of the other 3 nodes got nodedown,
%%                                  default net_ticktime (60 s: expect 45-75 s); skipped when the
%%                                  environment has BENCH_ERLANG_DEFAULT_TICKTIME=0
%%   cluster_frozen_detect_ticktime_2_s  the same with net_ticktime 2 on every node
%%   cluster_frozen_net_ticktime_s  the net_ticktime of cluster_frozen_detect_s
%% Distribution (and epmd, started here if absent) listens on 127.0.0.1 only. Logging is off
%% (a frozen node is reported as not responding, on purpose).
-module(bench_dist).
-export([main/0, sink/1, subscriber/0, watch/2]).

-define(COOKIE, corvid_bench_cookie).
-define(RTT_N, 20000).
-define(ONEWAY_N, 500000).
-define(BCAST_N, 5000).
-define(BCAST_WARMUP, 500).
-define(RATE_N, 200000).
-define(WINDOW, 4096).

main() ->
    os:putenv("ERL_EPMD_ADDRESS", "127.0.0.1"),
    _ = os:cmd("epmd -daemon"),
    ok = application:set_env(kernel, inet_dist_use_interface, {127, 0, 0, 1}),
    %% Peers are stopped and frozen on purpose: no partition-prevention disconnects, no reports.
    ok = application:set_env(kernel, prevent_overlapping_partitions, false),
    bench_common:quiet_logger(),
    Default = os:getenv("BENCH_ERLANG_DEFAULT_TICKTIME") =/= "0",
    {_, Ticktime} = start_dist(60),
    {ok, _} = pg:start_link(),
    Peers = [P1, P2, P3] = start_peers([p1, p2, p3], Ticktime),
    N1 = node_of(P1),
    %% Erlang's nodes are always OS processes: one measurement each, under both of corvid's names
    %% (bench_cluster's nodes share an OS process, bench_cluster_nodes' _os_ figures do not).
    Rtt = rtt(N1),
    bench_common:figure(cluster_rtt_us, Rtt, "us"),
    bench_common:figure(cluster_rtt_os_us, Rtt, "us"),
    Oneway = oneway(N1),
    bench_common:figure(cluster_oneway_per_s, Oneway, "per_s"),
    bench_common:figure(cluster_oneway_os_per_s, Oneway, "per_s"),
    Subs = [spawn(node_of(P), ?MODULE, subscriber, []) || P <- Peers],
    wait_members(3),
    {Median, P99} = broadcast_acked(),
    bench_common:figure(cluster_broadcast_3_acked_median_us, Median, "us"),
    bench_common:figure(cluster_broadcast_3_acked_p99_us, P99, "us"),
    bench_common:figure(cluster_broadcasts_per_s_3, broadcast_rate(Subs), "per_s"),
    case Default of
        true ->
            bench_common:figure(cluster_frozen_detect_s, frozen([P1, P2], P3), "s"),
            bench_common:figure(cluster_frozen_net_ticktime_s, Ticktime, "s");
        false -> ok
    end,
    stop_all(Peers),
    ok = net_kernel:stop(),
    {_, 2} = start_dist(2),
    Fast = [F1, F2, F3] = start_peers([f1, f2, f3], 2),
    bench_common:figure(cluster_frozen_detect_ticktime_2_s, frozen([F1, F2], F3), "s"),
    stop_all(Fast),
    ok.

%% Distribution for this node with `Ticktime`; returns the ticktime in force.
start_dist(Ticktime) ->
    {ok, _} = net_kernel:start('bench@127.0.0.1', #{name_domain => longnames, net_ticktime => Ticktime}),
    true = erlang:set_cookie(?COOKIE),
    {node(), net_kernel:get_net_ticktime()}.

%% Peer nodes that load this module, run pg, and are connected to each other.
start_peers(Names, Ticktime) ->
    Dir = filename:dirname(code:which(?MODULE)),
    Peers = [begin
                 {ok, Pid, Node} = peer:start(#{name => Name, host => "127.0.0.1", longnames => true,
                                                args => ["-setcookie", atom_to_list(?COOKIE), "-pa", Dir,
                                                         "-kernel", "net_ticktime", integer_to_list(Ticktime),
                                                         "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
                                                         "-kernel", "start_pg", "true",
                                                         "-kernel", "prevent_overlapping_partitions", "false",
                                                         "-kernel", "logger_level", "none"]}),
                 {Pid, Node}
             end || Name <- Names],
    _ = [pong = erpc:call(A, net_adm, ping, [B]) || {_, A} <- Peers, {_, B} <- Peers, A < B],
    Peers.

node_of({_, Node}) -> Node.

stop_all(Peers) ->
    lists:foreach(fun({Pid, Node}) ->
                          case lists:member(Node, nodes()) of
                              true -> catch peer:stop(Pid);
                              false -> ok
                          end
                  end, Peers).

%% Round trips.
rtt(Node) ->
    Pong = spawn(Node, bench_pingpong, pong, []),
    bench_pingpong:ping(Pong, 1000),           % warm-up
    T0 = bench_common:now_ns(),
    bench_pingpong:ping(Pong, ?RTT_N),
    Us = bench_common:us_since(T0),
    Pong ! stop,
    Us / ?RTT_N.

%% One-way small messages; the sink answers when it has them all.
oneway(Node) ->
    Sink = spawn(Node, ?MODULE, sink, [self()]),
    T0 = bench_common:now_ns(),
    send_n(Sink, ?ONEWAY_N),
    receive {sunk, ?ONEWAY_N} -> ok end,
    ?ONEWAY_N / (bench_common:us_since(T0) / 1000000).

send_n(_, 0) -> ok;
send_n(Sink, K) -> Sink ! K, send_n(Sink, K - 1).

sink(Parent) -> sink(Parent, 0).
sink(Parent, ?ONEWAY_N) -> Parent ! {sunk, ?ONEWAY_N};
sink(Parent, Seen) -> receive _ -> sink(Parent, Seen + 1) end.

%% pg member on a peer node: {bcast, Seq, 0, From} is acked at once; with Total > 0 it counts
%% and reports the count at every Seq rem 1024 == 0 and at Seq == Total.
subscriber() ->
    ok = pg:join(bench, self()),
    subscriber(0).
subscriber(Count) ->
    receive
        {bcast, Seq, 0, From} ->
            From ! {ack, Seq},
            subscriber(Count);
        {bcast, Seq, Total, From} ->
            C = Count + 1,
            case Seq rem 1024 =:= 0 orelse Seq =:= Total of
                true -> From ! {count, node(), C};
                false -> ok
            end,
            subscriber(C)
    end.

wait_members(N) ->
    case length(pg:get_members(bench)) of
        N -> ok;
        _ -> receive after 10 -> wait_members(N) end
    end.

broadcast(Msg) ->
    lists:foreach(fun(P) -> P ! Msg end, pg:get_members(bench)).

broadcast_acked() ->
    Lat = [one_acked(Seq) || Seq <- lists:seq(1, ?BCAST_WARMUP + ?BCAST_N)],
    Measured = lists:sort(lists:nthtail(?BCAST_WARMUP, Lat)),
    {bench_common:median(Measured), lists:nth(min(?BCAST_N, floor(0.99 * ?BCAST_N) + 1), Measured)}.

one_acked(Seq) ->
    T0 = bench_common:now_ns(),
    broadcast({bcast, Seq, 0, self()}),
    [receive {ack, Seq} -> ok end || _ <- [1, 2, 3]],
    bench_common:us_since(T0).

broadcast_rate(Subs) ->
    Counts = maps:from_list([{node(S), 0} || S <- Subs]),
    T0 = bench_common:now_ns(),
    Final = rate_loop(1, Counts),
    All = wait_counts(Final),
    Secs = bench_common:us_since(T0) / 1000000,
    ?RATE_N = lists:min(maps:values(All)),
    ?RATE_N / Secs.

rate_loop(Seq, Counts) when Seq > ?RATE_N -> Counts;
rate_loop(Seq, Counts) ->
    C = window(Seq, Counts),
    broadcast({bcast, Seq, ?RATE_N, self()}),
    rate_loop(Seq + 1, C).

%% Takes in the reports that have arrived; blocks while Seq is more than ?WINDOW ahead of the slowest.
window(Seq, Counts) ->
    receive
        {count, Node, C} -> window(Seq, Counts#{Node := C})
    after 0 ->
        case Seq - lists:min(maps:values(Counts)) > ?WINDOW of
            true -> receive {count, Node, C} -> window(Seq, Counts#{Node := C}) end;
            false -> Counts
        end
    end.

wait_counts(Counts) ->
    case lists:min(maps:values(Counts)) of
        ?RATE_N -> Counts;
        _ -> receive {count, Node, C} -> wait_counts(Counts#{Node := C}) end
    end.

%% Freezes Victim's OS process; seconds until this node and each of Observers got its nodedown.
frozen(Observers, {_, VictimNode}) ->
    OsPid = erpc:call(VictimNode, os, getpid, []),
    Self = self(),
    _ = [spawn(node_of(O), ?MODULE, watch, [VictimNode, Self]) || O <- Observers],
    ok = net_kernel:monitor_nodes(true),
    receive after 500 -> ok end,               % the watchers are in place
    T0 = bench_common:now_ns(),
    _ = os:cmd("kill -STOP " ++ OsPid),
    Here = receive {nodedown, VictimNode} -> bench_common:us_since(T0) end,
    There = [receive {down, O} -> bench_common:us_since(T0) end || {_, O} <- Observers],
    ok = net_kernel:monitor_nodes(false),
    _ = os:cmd("kill -KILL " ++ OsPid),
    lists:max([Here | There]) / 1000000.

%% On an observer node: tells Parent when Node goes down.
watch(Node, Parent) ->
    ok = net_kernel:monitor_nodes(true),
    receive {nodedown, Node} -> Parent ! {down, node()} end.
