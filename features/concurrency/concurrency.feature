Feature: Concurrent changes on both sides
  Both applications keep working while the sync runs; rows created on both sides at once
  never collide, and concurrent changes to one row end equal on both sides, decided by the
  conflict policy.

  Scenario: Both applications create users in the same round
    Given the legacy and revamp databases are empty and in sync
    When the legacy application creates the users "alice" and "bob"
    And the revamp application creates the users "carol" and "dave"
    And the sync runs
    Then legacy and revamp both have exactly the users "alice", "bob", "carol" and "dave"
    And every user has its own id on each side
    And both databases hold the same data

  Scenario: The same person signs up on both sides at once
    Given the legacy and revamp databases are empty and in sync
    When the legacy application creates the user "alice"
    And the revamp application creates the user "alice"
    And the sync runs
    Then legacy and revamp both have exactly the users "alice"
    And the dead-letter queue is empty
    And both databases hold the same data

  Scenario: Both applications record the same like at once
    Given the legacy application creates the user "alice"
    And the legacy application creates the post "Hello" by "alice"
    And the sync has run
    When the legacy application records that "alice" likes "Hello"
    And the revamp application records that "alice" likes "Hello"
    And the sync runs
    Then on legacy "alice" likes "Hello"
    And on revamp "alice" likes "Hello"
    And the dead-letter queue is empty
    And both databases hold the same data

  Scenario Outline: Concurrent updates converge under the <policy> policy
    Given the sync resolves conflicts by "<policy>"
    And the legacy application creates the user "alice"
    And the sync has run
    When the <first> application changes the email of "alice" to "<first>@example.com"
    And the <second> application changes the email of "alice" to "<second>@example.com"
    And the sync runs
    Then legacy and revamp both give "alice" the email "<winner>@example.com"
    And both databases hold the same data

    Examples:
      | policy           | first  | second | winner |
      | last-writer-wins | legacy | revamp | revamp |
      | last-writer-wins | revamp | legacy | legacy |
      | legacy-wins      | legacy | revamp | legacy |
      | legacy-wins      | revamp | legacy | legacy |
      | revamp-wins      | legacy | revamp | revamp |
      | revamp-wins      | revamp | legacy | revamp |
