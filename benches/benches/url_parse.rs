//! `SrtUrl` parsing of real-world URLs (a push URL with an access-control stream id, a listener
//! with many options, an encrypted caller), and printing one back.
#![allow(clippy::panic)] // a benchmark stops loudly on a wrong result

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tmio_url::SrtUrl;

const URLS: &[(&str, &str)] = &[
    (
        "tencent_push",
        "srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=push.example.com,r=live/test,\
         txSecret=0123456789abcdef0123456789abcdef,txTime=5F000000&latency=200",
    ),
    (
        "listener_options",
        "srt://:9000?mode=listener&latency=120&rcvbuf=12058624&sndbuf=12058624&maxbw=0\
         &payloadsize=1456&tlpktdrop=0&peeridletimeo=5000",
    ),
    (
        "encrypted_caller",
        "srt://[2001:db8::7]:4201?mode=caller&passphrase=correct-horse-battery&pbkeylen=32\
         &streamid=studio/cam1&transtype=live",
    ),
    ("minimal", "srt://203.0.113.9:9000"),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("SrtUrl::parse");
    for (name, url) in URLS {
        // Every URL must parse, or the benchmark would time the error path.
        if let Err(error) = url.parse::<SrtUrl>() {
            panic!("{name}: {error}");
        }
        group.throughput(Throughput::Bytes(url.len() as u64));
        group.bench_function(*name, |b| b.iter(|| black_box(url).parse::<SrtUrl>()));
    }
    group.finish();
}

fn display(c: &mut Criterion) {
    let Ok(url) = URLS[0].1.parse::<SrtUrl>() else {
        panic!("{} does not parse", URLS[0].1);
    };
    c.bench_function("SrtUrl::to_string/tencent_push", |b| {
        b.iter(|| black_box(&url).to_string())
    });
}

criterion_group!(benches, parse, display);
criterion_main!(benches);
