//! Connection floods: past `max_connections` every extra client is told why and closed, the
//! ones inside the cap keep being served, and a freed slot is usable again.

use std::time::Duration;

use crate::support::raw::{command, connect, exchange, pongs, read_to_close};
use crate::support::Numpool;

#[test]
fn a_flood_over_the_cap_is_refused_and_the_clients_inside_it_are_served() {
    let server = Numpool::start(&["--max-connections", "8"]);
    let mut inside: Vec<_> = (0..8).map(|_| connect(server.resp)).collect();
    for s in &mut inside {
        exchange(s, &command(&["PING"]), b"+PONG\r\n");
    }
    // 200 more at once, from 8 threads.
    let flooders: Vec<_> = (0..8)
        .map(|_| {
            let addr = server.resp;
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| read_to_close(&mut connect(addr)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for flooder in flooders {
        for refused in flooder.join().unwrap() {
            assert_eq!(refused, b"-ERR max number of clients reached\r\n");
        }
    }
    for s in &mut inside {
        exchange(s, &command(&["PING"]), b"+PONG\r\n");
    }
    drop(inside);
    assert!((0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        pongs(server.resp)
    }));
}
