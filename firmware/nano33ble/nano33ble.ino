/*
 * HAR Monitor reference firmware: Arduino Nano 33 BLE / Nano 33 BLE Sense.
 *
 * Streams accelerometer (g) and gyroscope (dps) samples in HAR Monitor's live line
 * protocol (docs/FORMATS.md §6) over USB serial (115200) and, while a BLE central is
 * subscribed, over the Nordic UART Service (NUS) as device "HAR-IMU".
 *
 *   # har-imu firmware 1        comment lines; key=value items are metadata
 *   # rate=50
 *   # accel=g
 *   # gyro=dps
 *   t,ax,ay,az,gx,gy,gz         header (CSV aliases, docs/FORMATS.md §1)
 *   123456,0.0123,-0.9981,0.0456,1.2500,-0.3750,0.0625
 *
 * t is millis() as an integer (the app reads integer t as device milliseconds and
 * handles the u32 wrap-around). The metadata and header are sent at start, when a
 * serial monitor opens the USB port, when a BLE central subscribes, and on any write
 * to the NUS RX characteristic.
 *
 * Not compiled or run here (no Arduino toolchain or hardware); written against the
 * documented APIs of ArduinoBLE and Arduino_LSM9DS1 / Arduino_BMI270_BMM150.
 */

// Nano 33 BLE and Sense Rev1 carry an LSM9DS1; the Sense Rev2 carries a BMI270 + BMM150.
// Uncomment for a Rev2 board (library "Arduino_BMI270_BMM150" instead of "Arduino_LSM9DS1").
// #define IMU_REV2

#include <ArduinoBLE.h>
#ifdef IMU_REV2
#include <Arduino_BMI270_BMM150.h>  // BMI270 default output rate 100 Hz
#else
#include <Arduino_LSM9DS1.h>        // LSM9DS1 default output rate 119 Hz, ±4 g, ±2000 dps
#endif

#ifndef RATE_HZ
#define RATE_HZ 50  // the app resamples to the model's rate by t; keep it <= the IMU's output rate
#endif

static const uint32_t PERIOD_US = 1000000UL / RATE_HZ;
static const size_t CHUNK = 20;       // notification payload with the default ATT MTU of 23
static const size_t LINE_MAX = 96;    // our longest line is ~85 bytes; the protocol allows 512

#define NUS_SERVICE_UUID "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"
#define NUS_RX_UUID      "6E400002-B5A3-F393-E0A9-E50E24DCCA9E"
#define NUS_TX_UUID      "6E400003-B5A3-F393-E0A9-E50E24DCCA9E"

BLEService nus(NUS_SERVICE_UUID);
BLECharacteristic txChar(NUS_TX_UUID, BLERead | BLENotify, CHUNK);
BLECharacteristic rxChar(NUS_RX_UUID, BLEWrite | BLEWriteWithoutResponse, CHUNK);

// Bytes waiting for BLE. Whole lines go in and CHUNK-byte notifications come out, in
// order, so one notification may end mid-line or carry the end of one line and the
// start of the next: the app joins them and cuts at '\n'. A line that does not fit is
// dropped whole (the app sees a gap in t), so no half line is ever queued.
static char bleQ[512];
static size_t bleLen = 0;

static bool imuOk = false;
static bool serialWasOpen = false;
static bool metaRequested = false;
static uint32_t nextTickUs = 0;
static uint32_t lastErrorMs = 0;

enum : uint8_t { TO_SERIAL = 1, TO_BLE = 2, TO_ALL = 3 };

static bool bleSubscribed() { return BLE.connected() && txChar.subscribed(); }

static void emit(const char* line, uint8_t dest) {
  const size_t n = strlen(line);
  // With native USB, Serial is true only while a host holds the port open (DTR).
  if ((dest & TO_SERIAL) && Serial) Serial.write(line, n);
  if ((dest & TO_BLE) && bleSubscribed() && bleLen + n <= sizeof bleQ) {
    memcpy(bleQ + bleLen, line, n);
    bleLen += n;
  }
}

static void sendMeta(uint8_t dest) {
  char rate[20];
  snprintf(rate, sizeof rate, "# rate=%d\n", RATE_HZ);
  emit("# har-imu firmware 1\n", dest);
  emit(rate, dest);
  emit("# accel=g\n", dest);
  emit("# gyro=dps\n", dest);
  emit("t,ax,ay,az,gx,gy,gz\n", dest);
}

// Appends ",<v with 4 decimals>" with integer arithmetic (printf's %f is not enabled
// on every core). |v| * 10000 stays far inside a long for ±16 g and ±2000 dps.
static char* putFixed4(char* p, float v) {
  long q = lroundf(v * 10000.0f);
  *p++ = ',';
  if (q < 0) { *p++ = '-'; q = -q; }
  return p + sprintf(p, "%ld.%04ld", q / 10000, q % 10000);
}

// Sends queued bytes, a few notifications per loop pass so sampling is never starved.
// (ArduinoBLE's writeValue waits while the controller's buffers are full.)
static void bleFlush() {
  if (!bleSubscribed()) { bleLen = 0; return; }
  for (int i = 0; i < 4 && bleLen > 0; i++) {
    const size_t n = bleLen < CHUNK ? bleLen : CHUNK;
    txChar.writeValue(reinterpret_cast<const uint8_t*>(bleQ), n);
    memmove(bleQ, bleQ + n, bleLen - n);
    bleLen -= n;
  }
}

static void sampleOnce() {
  static float a[3] = {0, 0, 0}, g[3] = {0, 0, 0};
  // The IMU runs faster than RATE_HZ, so fresh data is normally ready; else keep the last.
  if (IMU.accelerationAvailable()) IMU.readAcceleration(a[0], a[1], a[2]);  // g
  if (IMU.gyroscopeAvailable()) IMU.readGyroscope(g[0], g[1], g[2]);        // dps
  for (int i = 0; i < 3; i++) {
    if (!isfinite(a[i]) || !isfinite(g[i])) return;  // never send a non-number
  }
  char line[LINE_MAX];
  char* p = line + snprintf(line, sizeof line, "%lu", static_cast<unsigned long>(millis()));
  for (int i = 0; i < 3; i++) p = putFixed4(p, a[i]);
  for (int i = 0; i < 3; i++) p = putFixed4(p, g[i]);
  *p++ = '\n';
  *p = '\0';
  emit(line, TO_ALL);
}

// BLE callbacks (run from BLE.poll(), i.e. in loop context).
static void onSubscribed(BLEDevice, BLECharacteristic) { bleLen = 0; sendMeta(TO_BLE); }
static void onRxWritten(BLEDevice, BLECharacteristic) { metaRequested = true; }
static void onDisconnected(BLEDevice) { bleLen = 0; BLE.advertise(); }

void setup() {
  Serial.begin(115200);  // no while(!Serial): the board must run without a host

  imuOk = IMU.begin();

  if (BLE.begin()) {
    BLE.setLocalName("HAR-IMU");
    BLE.setDeviceName("HAR-IMU");
    BLE.setAdvertisedService(nus);
    nus.addCharacteristic(txChar);
    nus.addCharacteristic(rxChar);
    BLE.addService(nus);
    txChar.setEventHandler(BLESubscribed, onSubscribed);
    rxChar.setEventHandler(BLEWritten, onRxWritten);
    BLE.setEventHandler(BLEDisconnected, onDisconnected);
    BLE.advertise();
  } else {
    emit("# error: BLE init failed, USB serial only\n", TO_SERIAL);
  }

  // No metadata here: with native USB nobody is listening yet. loop() sends it when a
  // host opens the port, and onSubscribed() when a BLE central subscribes.
  nextTickUs = micros() + PERIOD_US;
}

void loop() {
  BLE.poll();

  // A serial monitor (or the app) just opened the port: it gets metadata and header first.
  const bool serialOpen = static_cast<bool>(Serial);
  if (serialOpen && !serialWasOpen) sendMeta(TO_SERIAL);
  serialWasOpen = serialOpen;

  if (metaRequested) { metaRequested = false; sendMeta(TO_ALL); }

  if (!imuOk) {
    // Say so once a second and retry, rather than hanging silently.
    if (millis() - lastErrorMs >= 1000) {
      lastErrorMs = millis();
      emit("# error: IMU not found\n", TO_ALL);
      if ((imuOk = IMU.begin())) sendMeta(TO_ALL);
    }
  } else {
    // micros() scheduler: signed differences survive the 71-minute wrap-around.
    const uint32_t now = micros();
    if (static_cast<int32_t>(now - nextTickUs) >= 0) {
      nextTickUs += PERIOD_US;
      // Far behind (a long BLE stall)? Skip the missed ticks instead of bursting.
      if (static_cast<int32_t>(now - nextTickUs) >= static_cast<int32_t>(PERIOD_US)) {
        nextTickUs = now + PERIOD_US;
      }
      sampleOnce();
    }
  }

  bleFlush();
}
