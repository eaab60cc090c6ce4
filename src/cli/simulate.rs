//! `har-monitor simulate`: write a synthetic recording (docs/FORMATS.md §4).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use har_monitor::model::AccelUnit;
use har_monitor::sim::{
    ClassWeights, DriftOptions, SimError, SimFileOptions, SimProfile, ThesisTables, write_csv_file,
};

use super::InputError;
use super::limits::{USERS, count, number, number_above};
use super::outputs::Inputs;
use har_monitor::sim::limits as sim;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Output CSV file.
    #[arg(long, value_name = "FILE.csv", required_unless_present = "print_thesis_tables")]
    pub out: Option<PathBuf>,
    /// Number of users (sessions), one after another in the file: 1 to 1000.
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = count(USERS))]
    pub users: usize,
    /// Session length per user in minutes, more than 0 and at most 10080 (a week); the default gives the
    /// thesis' 64,221 rows per user.
    #[arg(long, default_value_t = 21.407, allow_negative_numbers = true, value_name = "M",
          value_parser = number_above(sim::MINUTES_PER_USER))]
    pub minutes_per_user: f64,
    /// Seed of the session randomness (same seed, same options: byte-identical file).
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Id of the first user. A user's profile (movement style, watch mounting, sensor) depends on the id only, so
    /// files with different first users hold different people.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub first_user: u32,
    /// Write the production schema `timestamp,Ax,Ay,Az,Gx,Gy,Gz` (no labels, no users).
    #[arg(long)]
    pub unlabeled: bool,
    /// Calibration of the simulator: `thesis` (calibrated on the thesis' published statistics of its real
    /// recordings, what its models recognise) or `classic` (the first generator, kept for files made with it).
    #[arg(long, default_value = "thesis", value_name = "thesis|classic", value_parser = parse_profile)]
    pub profile: SimProfile,
    /// Thesis profile: posture and movement tables from this JSON file instead of the built-in ones, for
    /// calibration runs (`models/tools/calibrate_sim.py search` writes them; the format is the built-in tables as
    /// JSON, `--print-thesis-tables` prints them).
    #[arg(long, value_name = "FILE.json", conflicts_with = "print_thesis_tables")]
    pub thesis_tables: Option<PathBuf>,
    /// Print the built-in thesis tables as JSON to standard output and write no recording.
    #[arg(long)]
    pub print_thesis_tables: bool,
    #[command(flatten)]
    pub drift: SimDriftArgs,
}

/// The simulator's drift options, shared by `simulate` and `device`.
#[derive(Debug, Args, Clone)]
pub struct SimDriftArgs {
    /// Apply the drift options from this minute of each user's session on, 0 to 10080 (default: from the start).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_name = "M",
          value_parser = number(sim::DRIFT_AFTER_MIN))]
    pub drift_after_min: f64,
    /// Unit of the accelerometer columns.
    #[arg(long, default_value = "m/s2", value_name = "m/s2|g|milli-g")]
    pub accel_unit: String,
    /// The watch mounted rotated by D degrees about its z axis, -360 to 360.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_name = "D",
          value_parser = number(sim::ROTATE_DEG))]
    pub rotate_deg: f64,
    /// Factor on the sensor noise, 0 to 100.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_name = "X",
          value_parser = number(sim::NOISE_SCALE))]
    pub noise_scale: f64,
    /// Constant offset added to all three gyroscope axes, -2000 to 2000 deg/s.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_name = "DEG_PER_S",
          value_parser = number(sim::GYRO_BIAS_DPS))]
    pub gyro_bias: f64,
    /// How often each behaviour's bouts are chosen, e.g. `smoking=3,standing=0` (unlisted: 1; each 0 to 1e6).
    #[arg(long, value_name = "name=w,name=w")]
    pub class_weights: Option<String>,
}

impl SimDriftArgs {
    /// The library's drift options, with the unit and the weights parsed (ranges are checked by `validate`).
    pub fn options(&self) -> Result<DriftOptions, SimError> {
        let accel_unit: AccelUnit =
            self.accel_unit.parse().map_err(|problem: String| SimError::Invalid { option: "--accel-unit", problem })?;
        let class_weights = self.class_weights.as_deref().map(ClassWeights::parse).transpose()?;
        Ok(DriftOptions {
            after_s: self.drift_after_min * 60.0,
            accel_unit,
            rotate_deg: self.rotate_deg,
            noise_scale: self.noise_scale,
            gyro_bias_dps: self.gyro_bias,
            class_weights,
        })
    }
}

impl SimulateArgs {
    /// The library options, with every value checked; a bad one is an input error naming its option.
    fn file_options(&self) -> Result<SimFileOptions, SimError> {
        let options = SimFileOptions {
            users: u32::try_from(self.users)
                .map_err(|_| SimError::Invalid { option: "--users", problem: format!("{} is too many", self.users) })?,
            first_user: self.first_user,
            minutes_per_user: self.minutes_per_user,
            seed: self.seed,
            labeled: !self.unlabeled,
            drift: self.drift.options()?,
            profile: self.profile,
            thesis_tables: match &self.thesis_tables {
                Some(path) => Some(Arc::new(ThesisTables::from_json_file(path)?)),
                None => None,
            },
        };
        options.validate()?;
        Ok(options)
    }
}

fn parse_profile(s: &str) -> Result<SimProfile, String> {
    s.parse()
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if args.print_thesis_tables {
        println!("{}", serde_json::to_string_pretty(&ThesisTables::builtin())?);
        return Ok(());
    }
    let Some(out) = args.out.as_deref() else {
        return Err(InputError("--out FILE.csv is required".into()).into());
    };
    if let Some(tables) = &args.thesis_tables {
        Inputs::new().with("thesis tables", tables).refuse_as_output("--out", out)?;
    }
    let options = args.file_options().map_err(|e| InputError(e.to_string()))?;
    let started = std::time::Instant::now();
    let summary = write_csv_file(out, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "wrote {} rows ({} users from id {} x {} rows, seed {}, {} profile, {} schema) to {} in {:.2} s",
        summary.rows,
        options.users,
        options.first_user,
        options.rows_per_user(),
        options.seed,
        options.profile,
        if options.labeled { "labeled" } else { "production" },
        out.display(),
        seconds
    );
    Ok(())
}
