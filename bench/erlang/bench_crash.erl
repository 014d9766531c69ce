%% crash_restart_us: a one_for_one supervisor whose child crashes on a message; time from
%% sending the crash until the restarted child has answered a call. 10,000 sequential
%% iterations, mean. crash_restart_sustained_us: mean over the second half of 100,000.
-module(bench_crash).
-behaviour(supervisor).
-export([main/0]).
-export([init/1]).

main() ->
    bench_common:quiet_logger(),
    Short = run(10000),
    bench_common:figure(crash_restart_us, mean(Short), "us"),
    Long = run(100000),
    bench_common:figure(crash_restart_sustained_us, mean(lists:nthtail(50000, Long)), "us").

%% Returns the per-iteration times in microseconds, in order.
run(N) ->
    process_flag(trap_exit, true),
    {ok, Sup} = supervisor:start_link(?MODULE, self()),
    First = receive {started, P} -> P end,
    Times = loop(First, N, []),
    unlink(Sup),
    exit(Sup, shutdown),
    receive {'EXIT', Sup, _} -> ok after 0 -> ok end,
    Times.

loop(_, 0, Acc) -> lists:reverse(Acc);
loop(Child, K, Acc) ->
    T0 = bench_common:now_ns(),
    Child ! crash,
    New = receive {started, P} -> P end,
    pong = gen_server:call(New, ping),
    loop(New, K - 1, [bench_common:us_since(T0) | Acc]).

mean(Xs) -> lists:sum(Xs) / length(Xs).

%% Restart intensity high enough never to trip; period 1 s, the shortest window, is the most
%% favourable setting for OTP: its supervisor keeps (and filters on every restart) the list of
%% restarts inside the period, which is why sustained crashing gets slower.
init(Notify) ->
    {ok, {#{strategy => one_for_one, intensity => 1000000000, period => 1},
          [#{id => worker, start => {bench_crash_worker, start_link, [Notify]},
             restart => permanent, shutdown => brutal_kill, type => worker}]}}.
