Feature: Error handling
  A change that cannot be applied goes to the dead-letter queue with its reason; the sync
  keeps going, retries what may heal by itself, and applies a dead letter once it is replayed.

  Background:
    Given the legacy and revamp databases are empty and in sync

  Scenario: A like whose post never arrives goes to the dead-letter queue and is replayed later
    Given the legacy application creates the user "alice"
    And the sync has run
    When Debezium publishes the new legacy like 900 by "alice" of post 501
    And the sync runs
    Then revamp has no likes
    And the dead-letter queue is empty
    When 31 seconds pass
    And the sync runs
    Then the dead-letter queue holds 1 change rejected as "ParentMissingError" mentioning "post"
    And the dead letter came from "legacy.public.legacy_likes"
    When Debezium publishes the new legacy post 501 "Late post" by "alice"
    And the sync runs
    And the dead letters are replayed
    And the sync runs
    Then on revamp "alice" likes "Late post"
    And the dead-letter queue is empty

  Scenario: A transient failure is retried and the change still applies
    Given the revamp database will fail the next 2 transactions
    When the legacy application creates the user "alice"
    And the sync runs
    Then revamp has the user "alice" with email "alice@example.com" and status "Active"
    And the sync retried 2 times
    And the dead-letter queue is empty

  Scenario: A transient failure that outlasts the retries waits and is never dead-lettered
    Given the revamp database will fail the next 6 transactions
    When the legacy application creates the user "alice"
    And the sync runs
    Then revamp has the user "alice" with email "alice@example.com" and status "Active"
    And the dead-letter queue is empty
    And the sync waited out 1 outage

  Scenario Outline: A malformed change goes to the dead-letter queue and the sync keeps going
    When a message arrives on the legacy users topic that is <malformation>
    And Debezium publishes the new legacy user 12 "bob"
    And the sync runs
    Then the dead-letter queue holds 1 change rejected as "InvalidEventError" mentioning "<reason>"
    And the dead letter came from "legacy.public.legacy_users"
    And revamp has the user "bob" with email "bob@example.com" and status "Active"

    Examples:
      | malformation                                   | reason       |
      | not JSON                                       | not JSON     |
      | a change with the unknown operation "x"        | op           |
      | a change of the unmapped table "legacy_groups" | source.table |
      | a change without its commit time               | source.ts_ms |
