%% flood_rss_delta_mib: a slow consumer (1 ms per message) flooded for 5 s by a producer
%% sending as fast as it can. Reports the growth of the VM's total memory.
-module(bench_flood).
-export([main/0]).

-define(SECONDS, 5).

main() ->
    erlang:garbage_collect(),
    Mem0 = erlang:memory(total),
    Consumer = spawn(fun consume/0),
    Deadline = bench_common:now_ns() + ?SECONDS * 1000000000,
    Sent = produce(Consumer, Deadline, 0),
    Mem1 = erlang:memory(total),
    {message_queue_len, Queued} = erlang:process_info(Consumer, message_queue_len),
    exit(Consumer, kill),
    io:format(standard_error, "flood: sent ~b messages, ~b still queued~n", [Sent, Queued]),
    bench_common:figure(flood_rss_delta_mib, (Mem1 - Mem0) / (1024 * 1024), "MiB").

%% Check the clock once per 1000 sends.
produce(Consumer, Deadline, Sent) ->
    send_n(Consumer, Sent, 1000),
    case bench_common:now_ns() >= Deadline of
        true -> Sent + 1000;
        false -> produce(Consumer, Deadline, Sent + 1000)
    end.

send_n(_, _, 0) -> ok;
send_n(Consumer, Seq, K) ->
    Consumer ! {msg, Seq},
    send_n(Consumer, Seq + 1, K - 1).

consume() ->
    receive
        {msg, _} -> timer:sleep(1), consume()
    end.
