package io.twinhub.twin.c2d;

/** A cloud-to-device message's final outcome, named as in IoT Hub's feedback records ({@code statusCode}). */
public enum FeedbackStatus {
  /** The device completed it (MQTT: PUBACK). */
  Success,
  /** Its expiry time passed before the device completed it. */
  Expired,
  /** Delivered the maximum number of times without completion: dead-lettered. */
  DeliveryCountExceeded,
  /** The device rejected it. */
  Rejected,
  /** Removed by a purge of the device's queue. */
  Purged
}
