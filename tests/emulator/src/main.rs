//! `apprunner-emulator`: the App Runner control-plane emulator as a process.
//! Prints `apprunner-emulator listening on http://127.0.0.1:PORT` once it
//! accepts connections, then serves until interrupted.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use apprunner_emulator::{ClockMode, Emulator, FaultRule};
use clap::Parser;

/// An AWS App Runner control-plane emulator (awsJson1_0 on 127.0.0.1), with fault injection.
#[derive(Debug, Parser)]
#[command(name = "apprunner-emulator", version)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 0, env = "APPRUNNER_EMULATOR_PORT")]
    port: u16,
    /// Region in ARNs and service URLs of unsigned requests (a signed
    /// request gets the region of its SigV4 credential scope).
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// 12-digit account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    account_id: String,
    /// `real`: time follows the system clock. `virtual`: time moves only via
    /// `POST /_emulator/clock/advance`.
    #[arg(long, default_value = "real")]
    clock: ClockMode,
    /// How long each asynchronous operation (and each rollback) stays in progress.
    #[arg(long, default_value_t = 2000)]
    operation_duration_ms: u64,
    /// Seed for ids, service URLs and fault probabilities (default: from the time).
    #[arg(long)]
    seed: Option<u64>,
    /// A fault rule as JSON, e.g. '{"operation":"CreateService","fault":"throttle","probability":0.5}'. Repeatable.
    #[arg(long = "fault", value_name = "JSON")]
    faults: Vec<String>,
    /// Service quota (services not deleted, CREATE_FAILED included).
    #[arg(long, default_value_t = 30)]
    max_services: usize,
    /// VPC connector quota.
    #[arg(long, default_value_t = 50)]
    max_vpc_connectors: usize,
    /// Custom domains pending DNS validation validate this many
    /// milliseconds after they became pending, whatever DNS holds.
    #[arg(long, value_name = "N")]
    domain_validation_ms: Option<u64>,
    /// A Route 53 endpoint (plain http://host:port, e.g. moto server) polled
    /// every 200 ms: a custom domain validates once its validation CNAMEs
    /// are in a hosted zone that is a suffix of it.
    #[arg(long, value_name = "URL")]
    route53_endpoint: Option<String>,
    /// Also append every request log entry as a JSON line to this file.
    #[arg(long, value_name = "PATH")]
    request_log: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = Emulator::builder()
        .port(args.port)
        .region(args.region)
        .account_id(args.account_id)
        .clock(args.clock)
        .operation_duration(Duration::from_millis(args.operation_duration_ms))
        .seed(args.seed.unwrap_or_else(seed_from_time))
        .max_services(args.max_services)
        .max_vpc_connectors(args.max_vpc_connectors);
    for text in &args.faults {
        match serde_json::from_str::<FaultRule>(text) {
            Ok(rule) => builder = builder.fault(rule),
            Err(e) => {
                eprintln!("apprunner-emulator: invalid --fault {text}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(ms) = args.domain_validation_ms {
        builder = builder.domain_validation(Duration::from_millis(ms));
    }
    if let Some(url) = args.route53_endpoint {
        builder = builder.route53_endpoint(url);
    }
    if let Some(path) = args.request_log {
        builder = builder.request_log_file(path);
    }
    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("apprunner-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "apprunner-emulator listening on {}",
        emulator.endpoint_url()
    );
    let _ = stdout.flush();
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

fn seed_from_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
