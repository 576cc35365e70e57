//! Real-world URLs from Tencent Cloud, SRS, ZLMediaKit, OBS/ffmpeg guides and the libsrt
//! `srt-live-transmit` documentation parse into the expected values and print back.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::Duration;
use tmio_url::{AccessMode, Host, KeyLength, MaxBandwidth, Mode, SrtUrl, TcpUrl, TransType, Url};

fn round_trips(url: &SrtUrl) {
    let printed = url.to_string();
    assert_eq!(&SrtUrl::parse(&printed).unwrap(), url, "{printed}");
}

#[test]
fn tencent_push_url_round_trips_exactly() {
    let text = "srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000";
    let url = SrtUrl::parse(text).unwrap();
    assert_eq!(url.to_string(), text);
    assert_eq!(
        url.host(),
        Some(&Host::Name("sh.srt.tencentcloud.com".into()))
    );
    assert_eq!(url.port(), 9000);
    assert_eq!(url.mode(), Mode::Caller);
    let access = url.stream_id().unwrap().access_control().unwrap();
    assert_eq!(access.host(), Some("push.example.com"));
    assert_eq!(access.resource(), Some("live/test"));
    assert_eq!(access.get("txSecret"), Some("abc"));
    assert_eq!(access.get("txTime"), Some("5F000000"));
    assert_eq!(access.items().len(), 4);
}

#[test]
fn tencent_url_with_realistic_secret_and_latency() {
    let text = "srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=livepush.example.com,r=live/stream01,txSecret=0f1e2d3c4b5a69788796a5b4c3d2e1f0,txTime=65A1B2C3&latency=200&tlpktdrop=0";
    let url = SrtUrl::parse(text).unwrap();
    assert_eq!(url.to_string(), text);
    assert_eq!(url.options().latency, Some(Duration::from_millis(200)));
    assert_eq!(url.options().tlpktdrop, Some(false));
}

#[test]
fn srs_stream_ids() {
    let publish =
        SrtUrl::parse("srt://127.0.0.1:10080?streamid=#!::r=live/livestream,m=publish").unwrap();
    let access = publish.stream_id().unwrap().access_control().unwrap();
    assert_eq!(access.resource(), Some("live/livestream"));
    assert_eq!(access.mode(), Some(AccessMode::Publish));
    round_trips(&publish);

    let play =
        SrtUrl::parse("srt://127.0.0.1:10080?streamid=#!::r=live/livestream,m=request").unwrap();
    assert_eq!(
        play.stream_id().unwrap().access_control().unwrap().mode(),
        Some(AccessMode::Request)
    );
    // SRS with a vhost and a token-like extra key.
    let vhost = SrtUrl::parse(
        "srt://192.168.1.10:10080?streamid=#!::h=srs.example.com,r=live/livestream,m=publish,secret=8f3a",
    )
    .unwrap();
    let access = vhost.stream_id().unwrap().access_control().unwrap();
    assert_eq!(access.host(), Some("srs.example.com"));
    assert_eq!(access.get("secret"), Some("8f3a"));
    round_trips(&vhost);
}

#[test]
fn zlmediakit_and_obs_style_urls() {
    let url = SrtUrl::parse("srt://192.168.1.105:9000?streamid=#!::r=live/test,m=publish").unwrap();
    assert_eq!(
        url.host(),
        Some(&Host::Ipv4(Ipv4Addr::new(192, 168, 1, 105)))
    );
    round_trips(&url);
    // OBS and ffmpeg users often percent-encode the stream id; it decodes to the same value.
    let encoded = SrtUrl::parse(
        "srt://192.168.1.105:9000?streamid=%23%21%3A%3Ar%3Dlive%2Ftest%2Cm%3Dpublish",
    )
    .unwrap();
    assert_eq!(encoded, url);
    // ffmpeg's own srt:// option names are not libsrt URI names: "pkt_size" is unknown, so
    // strict parsing refuses it and lenient parsing reports it. (ffmpeg also reads `latency`
    // in microseconds; here, as in libsrt, it is milliseconds.)
    let ffmpeg = "srt://192.168.1.105:9000?pkt_size=1316&latency=120";
    assert!(SrtUrl::parse(ffmpeg).is_err());
    let lenient = SrtUrl::parse_lenient(ffmpeg).unwrap();
    assert_eq!(lenient.warnings().len(), 1);
    assert_eq!(lenient.options().latency, Some(Duration::from_millis(120)));
}

#[test]
fn srt_live_transmit_documentation_examples() {
    let listener = SrtUrl::parse("srt://:4201").unwrap();
    assert_eq!(listener.mode(), Mode::Listener);
    assert_eq!(listener.host(), None);

    let bound = SrtUrl::parse("srt://10.10.10.100:5001?mode=listener").unwrap();
    assert_eq!(bound.mode(), Mode::Listener);

    let adapter = SrtUrl::parse("srt://:5001?adapter=10.10.10.100").unwrap();
    assert_eq!(adapter.mode(), Mode::Listener);
    assert_eq!(
        adapter.options().adapter,
        Some(Host::Ipv4(Ipv4Addr::new(10, 10, 10, 100)))
    );

    let caller =
        SrtUrl::parse("srt://remote.host.com:5001?adapter=local1&port=4001&mode=caller").unwrap();
    assert_eq!(caller.mode(), Mode::Caller);
    assert_eq!(caller.options().adapter, Some(Host::Name("local1".into())));
    assert_eq!(caller.options().port, Some(4001));
    round_trips(&caller);

    let rendezvous = SrtUrl::parse("srt://remote.host.com:5001?mode=rendezvous").unwrap();
    assert_eq!(rendezvous.mode(), Mode::Rendezvous);
    let implied = SrtUrl::parse("srt://remote.host.com:5001?port=4001&adapter=local1").unwrap();
    assert_eq!(implied.mode(), Mode::Rendezvous);

    let v6 = SrtUrl::parse("srt://[::1]:5000?mode=rendezvous&port=4000").unwrap();
    assert_eq!(v6.socket_addr(), Some("[::1]:5000".parse().unwrap()));
    round_trips(&v6);

    // `srt://[::]:5000` is caller mode (libsrt's documentation points this out).
    assert_eq!(
        SrtUrl::parse("srt://[::]:5000").unwrap().mode(),
        Mode::Caller
    );
}

#[test]
fn encrypted_tuned_url_with_every_common_option() {
    let text = "srt://203.0.113.7:9000?mode=caller&streamid=#!::u=admin,r=bunny,m=publish&passphrase=correcthorsebattery&pbkeylen=32&latency=1000&rcvlatency=1000&peerlatency=1000&maxbw=0&inputbw=1250000&oheadbw=25&payloadsize=1316&mss=1500&conntimeo=3000&peeridletimeo=5000&transtype=live&tlpktdrop=0&sndbuf=12058624&rcvbuf=12058624&linger=0&groupconnect=1&weight=10";
    let url = SrtUrl::parse(text).unwrap();
    assert_eq!(url.unredacted().to_string(), text);
    assert_eq!(
        url.to_string(),
        text.replace("correcthorsebattery", "<hidden>")
    );
    let options = url.options();
    assert_eq!(options.pbkeylen, Some(KeyLength::Aes256));
    assert_eq!(options.maxbw, Some(MaxBandwidth::RelativeToInput));
    assert_eq!(options.transtype, Some(TransType::Live));
    assert_eq!(options.linger, Some(Duration::ZERO));
    assert_eq!(options.groupconnect, Some(true));
    assert_eq!(options.order().len(), 21);
}

#[test]
fn local_tcp_sides() {
    for text in [
        "tcp://127.0.0.1:1935",
        "tcp://0.0.0.0:0",
        "tcp://[::1]:19350",
    ] {
        let url = TcpUrl::parse(text).unwrap();
        assert_eq!(url.to_string(), text);
        assert_eq!(text.parse::<Url>().unwrap(), Url::Tcp(url));
    }
}
