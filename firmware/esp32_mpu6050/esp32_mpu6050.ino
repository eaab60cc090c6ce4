/*
 * HAR Monitor reference firmware: ESP32 DevKit + MPU6050 (I2C, SDA GPIO21, SCL GPIO22).
 *
 * Streams accelerometer and gyroscope samples in HAR Monitor's live line protocol
 * (docs/FORMATS.md §6) over USB serial (115200) and, while a BLE central is subscribed,
 * over the Nordic UART Service (NUS) as device "HAR-IMU-ESP32".
 *
 * Units: Adafruit_MPU6050 reports m/s² and rad/s. The sketch sends those native units
 * unchanged and declares them honestly with "# accel=m/s2" and "# gyro=rad/s"; the app
 * converts to the model card's units (m/s² to g or back, rad/s to dps). No conversion
 * here means no second place where a factor could be wrong.
 *
 *   # har-imu firmware 1
 *   # rate=50
 *   # accel=m/s2
 *   # gyro=rad/s
 *   t,ax,ay,az,gx,gy,gz
 *   123456,0.1207,-9.7882,0.4472,0.0218,-0.0065,0.0011
 *
 * t is millis() as an integer (device milliseconds). The metadata and header are sent
 * at start, every 10 s on serial (the USB-UART bridge cannot tell when a host opens
 * the port; a repeated header is harmless), when a BLE central subscribes, and on any
 * write to the NUS RX characteristic.
 *
 * Not compiled or run here (no Arduino toolchain or hardware); written against the
 * documented APIs of Adafruit_MPU6050 and the ESP32 Arduino core's BLE library (Bluedroid).
 */

#include <Wire.h>
#include <Adafruit_MPU6050.h>
#include <Adafruit_Sensor.h>
#include <BLEDevice.h>
#include <BLEServer.h>
#include <BLE2902.h>

// 50 is the thesis model's rate; 52, 100 and 104 work as well: the app resamples to
// the model's rate using the device timestamps. Over BLE at 20-byte notifications,
// 100 Hz (~5.7 kB/s) is near what a slow connection interval allows; prefer USB there.
#ifndef RATE_HZ
#define RATE_HZ 50
#endif

static const int SDA_PIN = 21, SCL_PIN = 22;
static const uint32_t PERIOD_US = 1000000UL / RATE_HZ;
static const size_t CHUNK = 20;                 // notification payload at the default ATT MTU 23
static const uint32_t NOTIFY_GAP_US = 2500;     // pacing: at most 400 notifications/s (8 kB/s)
static const uint32_t META_EVERY_MS = 10000;

#define NUS_SERVICE_UUID "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"
#define NUS_RX_UUID      "6E400002-B5A3-F393-E0A9-E50E24DCCA9E"
#define NUS_TX_UUID      "6E400003-B5A3-F393-E0A9-E50E24DCCA9E"

Adafruit_MPU6050 mpu;
static BLEServer* server = nullptr;
static BLECharacteristic* txChar = nullptr;
static BLE2902* txCccd = nullptr;

// Set from the BLE stack's task; read in loop().
static volatile bool bleConnected = false;
static volatile bool metaRequested = false;
static volatile uint32_t disconnectedAtMs = 0;
static volatile bool advertisePending = false;

// Whole lines in, CHUNK-byte notifications out, in order: a notification may end
// mid-line or hold the end of one line and the start of the next (the app joins them
// and cuts at '\n'). A line that does not fit is dropped whole, never half queued.
static char bleQ[768];
static size_t bleLen = 0;
static bool bleWasSubscribed = false;

static bool imuOk = false;
static uint32_t nextTickUs = 0, lastNotifyUs = 0, lastMetaMs = 0, lastErrorMs = 0;

enum : uint8_t { TO_SERIAL = 1, TO_BLE = 2, TO_ALL = 3 };

class ServerCallbacks : public BLEServerCallbacks {
  void onConnect(BLEServer*) override { bleConnected = true; }
  void onDisconnect(BLEServer*) override {
    bleConnected = false;
    disconnectedAtMs = millis();
    advertisePending = true;  // restarted from loop(), not from the stack's callback
  }
};

class RxCallbacks : public BLECharacteristicCallbacks {
  void onWrite(BLECharacteristic*) override { metaRequested = true; }
};

static bool bleSubscribed() { return bleConnected && txCccd && txCccd->getNotifications(); }

static void emit(const char* line, uint8_t dest) {
  const size_t n = strlen(line);
  if (dest & TO_SERIAL) Serial.write(reinterpret_cast<const uint8_t*>(line), n);
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
  emit("# accel=m/s2\n", dest);
  emit("# gyro=rad/s\n", dest);
  emit("t,ax,ay,az,gx,gy,gz\n", dest);
}

// Appends ",<v with 4 decimals>" using integer arithmetic only.
static char* putFixed4(char* p, float v) {
  long q = lroundf(v * 10000.0f);
  *p++ = ',';
  if (q < 0) { *p++ = '-'; q = -q; }
  return p + sprintf(p, "%ld.%04ld", q / 10000, q % 10000);
}

static bool initImu() {
  if (!mpu.begin(MPU6050_I2CADDR_DEFAULT, &Wire)) return false;  // 0x68: AD0 to GND
  mpu.setAccelerometerRange(MPU6050_RANGE_8_G);
  mpu.setGyroRange(MPU6050_RANGE_500_DEG);
  mpu.setFilterBandwidth(MPU6050_BAND_21_HZ);
  return true;
}

static void sampleOnce() {
  sensors_event_t a, g, temp;
  if (!mpu.getEvent(&a, &g, &temp)) return;  // I2C hiccup: skip; the app sees a short gap
  const float v[6] = {a.acceleration.x, a.acceleration.y, a.acceleration.z,  // m/s²
                      g.gyro.x, g.gyro.y, g.gyro.z};                          // rad/s
  for (float x : v) if (!isfinite(x)) return;
  char line[96];  // ~75 bytes at most; the protocol allows 512
  char* p = line + snprintf(line, sizeof line, "%lu", static_cast<unsigned long>(millis()));
  for (float x : v) p = putFixed4(p, x);
  *p++ = '\n';
  *p = '\0';
  emit(line, TO_ALL);
}

static void serviceBle() {
  const bool sub = bleSubscribed();
  if (sub && !bleWasSubscribed) { bleLen = 0; sendMeta(TO_BLE); }  // a central just subscribed
  if (!sub) bleLen = 0;
  bleWasSubscribed = sub;
  if (sub && bleLen > 0 && micros() - lastNotifyUs >= NOTIFY_GAP_US) {
    const size_t n = bleLen < CHUNK ? bleLen : CHUNK;
    txChar->setValue(reinterpret_cast<uint8_t*>(bleQ), n);
    txChar->notify();
    memmove(bleQ, bleQ + n, bleLen - n);
    bleLen -= n;
    lastNotifyUs = micros();
  }
  // Restart advertising half a second after a disconnect (lets the stack settle).
  if (advertisePending && millis() - disconnectedAtMs >= 500) {
    advertisePending = false;
    if (txCccd) txCccd->setNotifications(false);  // the next central must subscribe again
    server->startAdvertising();
  }
}

void setup() {
  Serial.begin(115200);
  Wire.begin(SDA_PIN, SCL_PIN);
  Wire.setClock(400000);
  imuOk = initImu();

  BLEDevice::init("HAR-IMU-ESP32");
  server = BLEDevice::createServer();
  server->setCallbacks(new ServerCallbacks());
  BLEService* nus = server->createService(NUS_SERVICE_UUID);
  txChar = nus->createCharacteristic(NUS_TX_UUID, BLECharacteristic::PROPERTY_NOTIFY);
  txCccd = new BLE2902();
  txChar->addDescriptor(txCccd);
  BLECharacteristic* rx = nus->createCharacteristic(
      NUS_RX_UUID, BLECharacteristic::PROPERTY_WRITE | BLECharacteristic::PROPERTY_WRITE_NR);
  rx->setCallbacks(new RxCallbacks());
  nus->start();

  // The 128-bit service UUID and the 13-character name do not both fit in 31 bytes:
  // the UUID goes in the advertisement, the full name in the scan response.
  BLEAdvertising* adv = BLEDevice::getAdvertising();
  BLEAdvertisementData advData, scanData;
  advData.setFlags(0x06);  // LE General Discoverable, BR/EDR not supported
  advData.setCompleteServices(BLEUUID(NUS_SERVICE_UUID));
  scanData.setName("HAR-IMU-ESP32");
  adv->setAdvertisementData(advData);
  adv->setScanResponseData(scanData);
  adv->start();

  sendMeta(TO_SERIAL);
  lastMetaMs = millis();
  nextTickUs = micros() + PERIOD_US;
}

void loop() {
  if (metaRequested) { metaRequested = false; sendMeta(TO_ALL); }
  if (millis() - lastMetaMs >= META_EVERY_MS) { lastMetaMs = millis(); sendMeta(TO_SERIAL); }

  if (!imuOk) {
    // Say so once a second and retry (loose wire, wrong address), never hang silently.
    if (millis() - lastErrorMs >= 1000) {
      lastErrorMs = millis();
      emit("# error: IMU not found\n", TO_ALL);
      if ((imuOk = initImu())) sendMeta(TO_ALL);
    }
  } else {
    // micros() scheduler: signed differences survive the 71-minute wrap-around.
    const uint32_t now = micros();
    if (static_cast<int32_t>(now - nextTickUs) >= 0) {
      nextTickUs += PERIOD_US;
      if (static_cast<int32_t>(now - nextTickUs) >= static_cast<int32_t>(PERIOD_US)) {
        nextTickUs = now + PERIOD_US;  // far behind: skip missed ticks instead of bursting
      }
      sampleOnce();
    }
  }

  serviceBle();
}
